// The dashboard's page, script and stylesheet are not TypeScript, so tsc does not emit them:
// copy them next to the compiled handler, which reads them relative to itself.
import { cpSync } from 'node:fs';

cpSync('src/dashboard/assets', 'dist/src/dashboard/assets', { recursive: true });
