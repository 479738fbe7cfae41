// Typed background jobs: defineJob({ name, schema, handle }). Handlers run with the owning
// organization's system claims inside one transaction that also marks the outbox row done; a handler
// that must commit before it calls out (a provider send recorded first) uses `perform` instead.
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

/** Runs fn in a transaction of its own with the organization's system claims; its jobs are published after commit. */
export type Transact = <T>(fn: (ctx: Ctx) => Promise<T>) => Promise<T>;

interface JobHooks<S extends z.ZodType> extends JobSpec<S> {
  /** Runs (in its own transaction) when the job is dead-lettered, e.g. to mark a message failed. */
  onDead?(args: { ctx: Ctx; payload: z.infer<S>; job: JobInfo; error: string }): Promise<void>;
  /**
   * Runs in the transaction of an owner's or admin's retry of the dead job (POST /api/admin/jobs/{id}/retry),
   * e.g. to put a failed message back in the queue so the run sends it.
   */
  onRetry?(args: { ctx: Ctx; payload: z.infer<S>; job: { id: string } }): Promise<void>;
}

/** A job whose effects commit with the job itself: one transaction that also marks it done. */
export interface TransactionalJob<S extends z.ZodType = z.ZodType> extends JobHooks<S> {
  handle(args: { ctx: Ctx; payload: z.infer<S>; job: JobInfo }): Promise<void>;
  perform?: never;
}

/**
 * A job that commits its own steps (`transact`, one transaction each) and is marked done after it
 * returns: for handlers that must commit before they call an outside service. Each step must be safe
 * to run again after a crash at any point (the job then runs again from the start).
 */
export interface SelfCommittingJob<S extends z.ZodType = z.ZodType> extends JobHooks<S> {
  perform(args: { transact: Transact; orgId: string; payload: z.infer<S>; job: JobInfo }): Promise<void>;
  handle?: never;
}

/** A job's spec (lib/jobs/specs.ts) with its handler. */
export type JobDefinition<S extends z.ZodType = z.ZodType> = TransactionalJob<S> | SelfCommittingJob<S>;

/** A failure no retry can fix: the job is dead-lettered at once. */
export class PermanentJobError extends Error {
  override name = 'PermanentJobError';
}

const registry = new Map<string, JobDefinition>();

export function defineJob<S extends z.ZodType>(definition: TransactionalJob<S>): TransactionalJob<S>;
export function defineJob<S extends z.ZodType>(definition: SelfCommittingJob<S>): SelfCommittingJob<S>;
export function defineJob<S extends z.ZodType>(definition: JobDefinition<S>): JobDefinition<S> {
  if (!/^[a-z][a-z0-9_.-]{1,63}$/.test(definition.name)) throw new Error(`Bad job name ${definition.name}`);
  if (Boolean(definition.handle) === Boolean(definition.perform)) throw new Error(`Job ${definition.name} needs exactly one of handle and perform`);
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
