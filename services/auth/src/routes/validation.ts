/** zod parsing for request bodies and queries; failures become 400 `invalid_input` with the fields listed. */
import type { z } from 'zod';
import { invalidInput } from '../domain/errors.ts';

export function parse<T extends z.ZodType>(schema: T, value: unknown, what: string): z.infer<T> {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw invalidInput(
      what,
      result.error.issues.map((issue) => ({
        field: issue.path.join('.') || '(body)',
        message: issue.message,
      })),
    );
  }
  return result.data;
}
