import { MongoClient } from 'mongodb';

// The integration project only checks that a server answers; starting one is the job of
// `scripts/db.sh` (called by `npm test` when MONGODB_URI is not set).
export default async function setup(): Promise<void> {
  const uri = process.env['MONGODB_URI'];
  if (uri === undefined || uri === '') {
    throw new Error('MONGODB_URI is not set: run the tests with `npm test` (it starts FerretDB), or start a server with `npm run db:start`.');
  }
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 10_000 });
  try {
    await client.db('admin').command({ ping: 1 });
  } finally {
    await client.close();
  }
}
