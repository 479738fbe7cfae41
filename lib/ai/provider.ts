// The language model, from configuration: an OpenAI-compatible chat-completions endpoint (OpenAI itself,
// Azure, vLLM, Ollama, a test server) through the AI SDK's OpenAI provider. No API key: no model, and
// the callers use their offline fallbacks.
import { createOpenAI } from '@ai-sdk/openai';
import type { LanguageModel } from 'ai';
import { config, type Config } from '../config.js';

export interface ModelSettings {
  apiKey: string;
  baseUrl: string;
  model: string;
  timeoutMs: number;
}

/** A chat-completions model (not the Responses API, so any OpenAI-compatible server works). */
export function createChatModel(settings: Pick<ModelSettings, 'apiKey' | 'baseUrl' | 'model'>): LanguageModel {
  const provider = createOpenAI({ apiKey: settings.apiKey, baseURL: settings.baseUrl });
  return provider.chat(settings.model);
}

let cached: { key: Config['ai']; model: LanguageModel } | undefined;

/** The configured model and its timeout, or null when OPENAI_API_KEY is unset. */
export function configuredModel(): { model: LanguageModel; timeoutMs: number; modelId: string } | null {
  const ai = config().ai;
  if (!ai.apiKey) return null;
  if (cached?.key !== ai) cached = { key: ai, model: createChatModel({ apiKey: ai.apiKey, baseUrl: ai.baseUrl, model: ai.model }) };
  return { model: cached.model, timeoutMs: ai.timeoutMs, modelId: ai.model };
}
