import { describe, expect, it } from 'vitest';
import { redactText, redactUri } from '../../../src/redact.js';

describe('credentials never reach the output', () => {
  it('redacts user and password from URIs, alone or inside a text', () => {
    expect(redactUri('mongodb://alice:s3cret@db.example:27017/procs?authSource=admin')).toBe('mongodb://***@db.example:27017/procs?authSource=admin');
    expect(redactUri('mongodb+srv://bob@cluster0.example/x')).toBe('mongodb+srv://***@cluster0.example/x');
    expect(redactUri('mongodb://127.0.0.1:27017/')).toBe('mongodb://127.0.0.1:27017/');
    expect(redactText('connect mongodb://u:p%40ss@h:1/db failed; retry redis://:pw@localhost:6379')).toBe('connect mongodb://***@h:1/db failed; retry redis://***@localhost:6379');
  });
});
