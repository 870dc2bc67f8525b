/** Reading PromQL as the dashboards and alert rules write it: which metrics and labels an expression names. */
const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
]);

/** The metric names and the label names a PromQL expression (or a Grafana label_values() query) uses. */
export function promqlNames(expr: string): { metrics: string[]; labels: string[] } {
  const labels = new Set<string>();
  for (const group of expr.matchAll(/\b(?:by|without|on|ignoring)\s*\(([^)]*)\)/g))
    for (const label of group[1]!.split(',')) if (label.trim()) labels.add(label.trim());
  for (const matchers of expr.matchAll(/\{([^}]*)\}/g))
    for (const matcher of matchers[1]!.matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)/g))
      labels.add(matcher[1]!);
  // label_values([selector,] label): the label is after the last comma (a selector has commas of its own).
  const labelValues = /^label_values\((.*)\)$/.exec(expr.trim())?.[1];
  const comma = labelValues?.lastIndexOf(',') ?? -1;
  if (labelValues !== undefined) labels.add(labelValues.slice(comma + 1).trim());
  const bare = (labelValues === undefined ? expr : labelValues.slice(0, Math.max(comma, 0)))
    .replace(/\b(?:by|without|on|ignoring)\s*\([^)]*\)/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/"[^"]*"/g, ' ');
  const metrics = new Set<string>();
  for (const match of bare.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const next = bare.slice((match.index ?? 0) + match[0].length).trimStart();
    if (!next.startsWith('(') && !KEYWORDS.has(match[0])) metrics.add(match[0]);
  }
  return { metrics: [...metrics], labels: [...labels] };
}
