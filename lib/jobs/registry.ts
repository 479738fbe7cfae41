// Typed background jobs: defineJob({ name, schema, handle }). Handlers run with the owning
// organization's system claims inside one transaction that also marks the outbox row done.
import type { z } from 'zod';
import type { Ctx } from '../context.js';
import type { JobSpec } from './specs.js';

export interface JobInfo {
  id: string;
  attempts: number;
  maxAttempts: number;
  firstAttemptAt: Date;
  deadlineAt: Date | null;
}

/** A job's spec (lib/jobs/specs.ts) with its handler. */
export interface JobDefinition<S extends z.ZodType = z.ZodType> extends JobSpec<S> {
  handle(args: { ctx: Ctx; payload: z.infer<S>; job: JobInfo }): Promise<void>;
  /** Runs (in its own transaction) when the job is dead-lettered, e.g. to mark a message failed. */
  onDead?(args: { ctx: Ctx; payload: z.infer<S>; job: JobInfo; error: string }): Promise<void>;
}

/** A failure no retry can fix: the job is dead-lettered at once. */
export class PermanentJobError extends Error {
  override name = 'PermanentJobError';
}

const registry = new Map<string, JobDefinition>();

export function defineJob<S extends z.ZodType>(definition: JobDefinition<S>): JobDefinition<S> {
  if (!/^[a-z][a-z0-9_.-]{1,63}$/.test(definition.name)) throw new Error(`Bad job name ${definition.name}`);
  const existing = registry.get(definition.name);
  if (existing && existing !== (definition as unknown as JobDefinition)) throw new Error(`Job ${definition.name} is defined twice`);
  registry.set(definition.name, definition as unknown as JobDefinition);
  return definition;
}

export function jobDefinition(name: string): JobDefinition | undefined {
  return registry.get(name);
}

export function jobNames(): string[] {
  return [...registry.keys()].sort();
}
