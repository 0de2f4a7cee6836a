import model from "wink-eng-lite-web-model";
import winkNLP, { type ItemToken, type WinkMethods } from "wink-nlp";
import type { GenerateRequest, Generation, ModelProvider, ProbeResult } from "./provider.ts";
import { ProviderError } from "./provider.ts";

export const BUILTIN_TASK_TYPES = ["sentiment", "entities", "keywords", "summarize"] as const;

let shared: WinkMethods | undefined;
/** The English model takes ~50 ms to load, so every builtin model shares one instance. */
function englishPipeline(): WinkMethods {
  shared ??= winkNLP(model);
  return shared;
}

/**
 * Real in-process models from wink-nlp's English lite model: lexicon sentiment, its named entity
 * recogniser, and keyword frequencies that also rank sentences for an extractive summary.
 */
export class BuiltinProvider implements ModelProvider {
  private readonly nlp = englishPipeline();

  async generate(request: GenerateRequest, signal: AbortSignal): Promise<Generation> {
    signal.throwIfAborted();
    const { its, as } = this.nlp;
    const doc = this.nlp.readDoc(request.prompt);
    const tokensIn = doc.tokens().length();
    const words = () =>
      doc
        .tokens()
        .filter((t) => t.out(its.type) === "word" && !t.out(its.stopWordFlag))
        .out(its.normal, as.freqTable) as unknown as [string, number][];
    let output: unknown;
    switch (request.taskType) {
      case "sentiment": {
        const score = doc.out(its.sentiment) as unknown as number;
        const label = score > 0.05 ? "positive" : score < -0.05 ? "negative" : "neutral";
        output = { label, score: Math.round(score * 1000) / 1000 };
        break;
      }
      case "entities":
        output = { entities: doc.entities().out(its.detail) };
        break;
      case "keywords": {
        const limit = typeof request.params.limit === "number" ? request.params.limit : 10;
        output = {
          keywords: words()
            .slice(0, limit)
            .map(([term, count]) => ({ term, count })),
        };
        break;
      }
      case "summarize":
        output = { summary: this.summarize(doc, new Map(words()), request.params) };
        break;
      default:
        throw new ProviderError(`the builtin model has no ${request.taskType} task`, 400);
    }
    return { output, tokensIn, tokensOut: countWords(JSON.stringify(output)) };
  }

  private summarize(
    doc: ReturnType<WinkMethods["readDoc"]>,
    frequencies: Map<string, number>,
    params: Record<string, unknown>,
  ): string {
    const { its } = this.nlp;
    const sentences: { text: string; score: number; index: number }[] = [];
    doc.sentences().each((sentence, index) => {
      let score = 0;
      sentence.tokens().each((token: ItemToken) => {
        score += frequencies.get(token.out(its.normal) as string) ?? 0;
      });
      sentences.push({
        text: sentence.out(),
        score: score / Math.sqrt(sentence.tokens().length() || 1),
        index,
      });
    });
    const wanted =
      typeof params.sentences === "number" ? params.sentences : Math.max(1, Math.ceil(sentences.length / 3));
    return sentences
      .toSorted((a, b) => b.score - a.score)
      .slice(0, wanted)
      .toSorted((a, b) => a.index - b.index)
      .map((s) => s.text)
      .join(" ");
  }

  async probe(): Promise<ProbeResult> {
    return { models: ["wink-eng-lite-web-model"] };
  }
}

const countWords = (text: string) => text.split(/\W+/).filter(Boolean).length;
