/** Writes docs/errors.md and docs/failures.md from their catalogues (`npm run docs:errors`, `npm run docs:failures`); tests keep both in sync. */
import { writeFileSync } from 'node:fs';
import { renderErrorsDoc } from '../src/domain/errors-doc.js';
import { renderFailuresDoc } from '../src/domain/failures-doc.js';

writeFileSync(new URL('../docs/errors.md', import.meta.url), renderErrorsDoc());
writeFileSync(new URL('../docs/failures.md', import.meta.url), renderFailuresDoc());
console.log('docs/errors.md and docs/failures.md written');
