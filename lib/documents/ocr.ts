// OCR with tesseract.js, entirely from local files: the worker script, the core WASM and the English
// traineddata (@tesseract.js-data/eng) are read by path from node_modules, never downloaded, and nothing
// is cached to disk (cacheMethod 'none'). vercel.json ships these files with the documents function
// (includeFiles), since file tracing cannot see paths handed to a worker thread.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createWorker, OEM, PSM } from 'tesseract.js';

const require = createRequire(import.meta.url);

/** Where tesseract.js finds its parts (exported for the build smoke test and the bench). */
export const ocrPaths = {
  workerPath: require.resolve('tesseract.js/src/worker-script/node/index.js'),
  corePath: dirname(require.resolve('tesseract.js-core/package.json')),
  // The LSTM-only "best_int" model: what OEM.LSTM_ONLY runs, 2.9 MB gzipped.
  langPath: join(dirname(require.resolve('@tesseract.js-data/eng/package.json')), '4.0.0_best_int'),
};

export interface OcrResult {
  text: string;
  /** Mean word confidence, 0..1. */
  confidence: number;
}

export interface OcrSession {
  /** `dpi`: the image's resolution when known (a rendered page), so tesseract need not guess it. */
  recognize(image: Buffer, dpi?: number): Promise<OcrResult>;
  close(): Promise<void>;
}

/** Starts one tesseract worker (a worker thread with the WASM core and the English model loaded). */
export async function ocrSession(): Promise<OcrSession> {
  const worker = await createWorker('eng', OEM.LSTM_ONLY, {
    workerPath: ocrPaths.workerPath,
    corePath: ocrPaths.corePath,
    langPath: ocrPaths.langPath,
    gzip: true,
    cacheMethod: 'none',
    logger: () => {},
    errorHandler: () => {},
  });
  // Documents are pages of blocks and columns: automatic segmentation, keep runs of spaces between columns.
  await worker.setParameters({ tessedit_pageseg_mode: PSM.AUTO, preserve_interword_spaces: '1' });
  return {
    async recognize(image, dpi) {
      await worker.setParameters({ user_defined_dpi: dpi ? String(dpi) : '' });
      const { data } = await worker.recognize(image);
      return { text: data.text.replace(/[ \t]+\n/g, '\n').trim(), confidence: Math.round(data.confidence) / 100 };
    },
    async close() {
      await worker.terminate();
    },
  };
}
