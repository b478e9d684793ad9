import { writeFileSync } from 'node:fs';
import { renderErrorsDoc } from '../src/domain/errors-doc.js';

writeFileSync(new URL('../docs/errors.md', import.meta.url), renderErrorsDoc());
console.log('docs/errors.md written');
