/**
 * Renders the gateway templates for the native stack (the container stack lets the official nginx image do
 * it): `${NAME}` placeholders are filled from the given variables; nginx's own `$variables` are untouched.
 *
 *   node infra/nginx/render.ts <out-dir>     (variables from the environment)
 *
 * writes <out-dir>/gateway.conf, <out-dir>/security-headers.inc and <out-dir>/nginx.conf (the main file).
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const NGINX_DIR = fileURLToPath(new URL('.', import.meta.url));
const TEMPLATES = join(NGINX_DIR, 'templates');

export type Variables = Record<string, string | undefined>;

/**
 * GATEWAY_COOKIE_EXCHANGE_CACHE: the seconds the gateway reuses auth's answer to a cookie exchange (0: off). The
 * window is a slice of the clock, cut by the template's map on the decimal digits of the time (gateway.conf), so
 * only divisors of 10 can be cut; the official image's renderer does not check, and there another value is off.
 */
export const COOKIE_EXCHANGE_CACHE_VALUES = ['0', '1', '2', '5', '10'];
export const DEFAULT_COOKIE_EXCHANGE_CACHE = '1';

export function renderTemplate(text: string, variables: Variables, name = 'template'): string {
  return text.replace(/\$\{([A-Z][A-Z0-9_]*)\}/g, (_match, variable: string) => {
    const value = variables[variable];
    if (value === undefined || value === '') throw new Error(`${name}: ${variable} is not set`);
    if (/[;{}\n'"]/.test(value))
      throw new Error(`${name}: ${variable} contains a character nginx would misread`);
    return value;
  });
}

/** Render every template into `outDir`, plus the native main file `nginx.conf`. Returns its path. */
export function renderGateway(outDir: string, variables: Variables): string {
  mkdirSync(outDir, { recursive: true });
  const vars: Variables = { ...variables };
  vars.NGINX_INCLUDE_DIR ||= outDir;
  vars.NGINX_RUN_DIR ||= outDir;
  vars.GATEWAY_ACCESS_LOG ||= join(outDir, 'access.log');
  vars.GATEWAY_STATUS_LOG ||= 'off';
  vars.GATEWAY_TRUST_TRACEPARENT ||= 'off';
  vars.GATEWAY_STATUS_LOG_PATH ||= join(outDir, 'status.log');
  vars.GATEWAY_COOKIE_EXCHANGE_CACHE ||= DEFAULT_COOKIE_EXCHANGE_CACHE;
  vars.GATEWAY_COOKIE_EXCHANGE_CACHE_PATH ||= join(outDir, 'cookie-exchange');
  if (!COOKIE_EXCHANGE_CACHE_VALUES.includes(vars.GATEWAY_COOKIE_EXCHANGE_CACHE))
    throw new Error(
      `GATEWAY_COOKIE_EXCHANGE_CACHE must be one of ${COOKIE_EXCHANGE_CACHE_VALUES.join(', ')} (seconds; 0: off), not ${JSON.stringify(vars.GATEWAY_COOKIE_EXCHANGE_CACHE)}`,
    );
  for (const file of readdirSync(TEMPLATES).filter((f) => f.endsWith('.template'))) {
    const text = readFileSync(join(TEMPLATES, file), 'utf8');
    writeFileSync(join(outDir, file.replace(/\.template$/, '')), renderTemplate(text, vars, file));
  }
  const main = join(outDir, 'nginx.conf');
  writeFileSync(
    main,
    renderTemplate(readFileSync(join(NGINX_DIR, 'native.conf.template'), 'utf8'), vars, 'native.conf'),
  );
  return main;
}

if (import.meta.main) {
  const outDir = process.argv[2];
  if (!outDir) {
    console.error('usage: node infra/nginx/render.ts <out-dir>');
    process.exit(2);
  }
  try {
    console.log(renderGateway(outDir, process.env));
  } catch (error) {
    console.error(`render: ${(error as Error).message}`);
    process.exit(1);
  }
}
