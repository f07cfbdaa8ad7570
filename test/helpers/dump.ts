/**
 * A database's content for comparisons: every document of some collections, sorted by `_id`,
 * without the fields that differ between two equivalent runs (times, write ids, writers).
 */
import type { Db, Document } from 'mongodb';

export async function dumpCollections(db: Db, names: readonly string[]): Promise<Record<string, Document[]>> {
  const result: Record<string, Document[]> = {};
  for (const name of names) {
    const documents = await db.collection(name).find({}).toArray();
    result[name] = documents
      .map(({ at: _at, write_id: _writeId, worker: _worker, ...rest }) => rest)
      .sort((a, b) => (String(a['_id']) < String(b['_id']) ? -1 : 1));
  }
  return result;
}
