// Message analysis: the offline rules always run (deterministic, no network); when a model is
// configured (OPENAI_API_KEY) its answer replaces the labels and summary, and the offline result stands
// whenever the model fails, times out or answers something invalid.
import type { LanguageModel } from 'ai';
import { config } from '../../config.js';
import { log } from '../../log.js';
import { analyzeOffline } from './offline.js';
import type { AnalysisInput, AnalysisResult, AnalysisSource } from './schema.js';

export { analyzeOffline, saysAttached } from './offline.js';
export * from './schema.js';

export interface AnalysisOutcome {
  result: AnalysisResult;
  source: AnalysisSource;
  /** The model id when the LLM answered. */
  model?: string;
  /** Why the LLM result was not used, when a model was configured. */
  fallbackReason?: string;
}

export interface ModelChoice {
  model: LanguageModel;
  timeoutMs: number;
  modelId: string;
  /** Retries of a failed call (default 1). */
  maxRetries?: number;
}

export interface AnalyzeOptions {
  /** A model to use instead of the configured one; null forces the offline analyser. */
  model?: ModelChoice | null;
}

/** Analyses one message: LLM when configured, offline otherwise or when the LLM fails. */
export async function analyzeMessage(input: AnalysisInput, options: AnalyzeOptions = {}): Promise<AnalysisOutcome> {
  const offline = analyzeOffline(input);
  let llm: ModelChoice | null;
  if (options.model !== undefined) llm = options.model;
  else if (!config().ai.apiKey) llm = null;
  // The AI SDK loads only when a model is configured: offline deployments never pay its import time.
  else llm = (await import('../provider.js')).configuredModel();
  if (!llm) return { result: offline, source: 'offline' };
  try {
    const { analyzeWithLlm } = await import('./llm.js');
    const result = await analyzeWithLlm(input, offline, { model: llm.model, timeoutMs: llm.timeoutMs, maxRetries: llm.maxRetries });
    return { result, source: 'llm', model: llm.modelId };
  } catch (error) {
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    log.warn('LLM analysis failed; the offline result stands', { model: llm.modelId, error: reason.slice(0, 500) });
    return { result: offline, source: 'offline', fallbackReason: reason.slice(0, 500) };
  }
}
