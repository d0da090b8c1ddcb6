// Builds the table of French communes by date that the FranceConnect matching reads (docs/decisions.md #27):
//
//   cd tools/insee-cog && npm ci && npm run generate
//
// writes src/CafConnect.Infrastructure/Geography/Resources/insee-communes.tsv.gz (checked in, embedded in the
// Infrastructure assembly: nothing is fetched at run time).
//
// Source: INSEE's Code officiel géographique (COG) as @etalab/decoupage-administratif publishes it on npm (package.json
// pins every version, package-lock.json their integrity):
//   - 0.8.0 is the last version that ships data/historique-communes.json, INSEE's history of every commune since
//     1943-01-01 (names, code changes, mergers, communes associées and déléguées) up to the COG of 2019-01-01;
//   - the yearly versions after it (1.1.1 = COG 2021, 2.3.1 = 2022, 3.1.1 = 2023, 4.1.0 = 2024, 5.3.0 = 2025,
//     6.0.0 = 2026) ship data/communes.json, the state on 1 January of their year (communes, communes déléguées and
//     associées, the arrondissements municipaux of Paris, Lyon and Marseille), without dates of change.
// After 2019 a change is only known to have happened between two yearly states: both names are then kept for the whole
// interval (a name held for that code is accepted either side of the change; a name can only become ambiguous, never
// point to another code). The arrondissements municipaux are not in INSEE's history: they are valid from 1943.
//
// Output (UTF-8, tab-separated, gzip; sorted, so the same sources give the same file):
//   lines starting with '#': the sources;
//   code  from  to  kind  parent  name
//   - code: the INSEE code (5 characters, 2A/2B for Corsica since 1976, 20 before);
//   - from, to: the validity of that name for that code, [from, to) as yyyy-mm-dd, 'to' empty while still valid;
//   - kind: C commune, A commune associée, D commune déléguée, M arrondissement municipal;
//   - parent: the commune of an arrondissement municipal (empty otherwise);
//   - name: the official name (typographie riche).
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const output = process.argv[2] ?? join(here, '..', '..', 'src', 'CafConnect.Infrastructure', 'Geography', 'Resources', 'insee-communes.tsv.gz');

const versionOf = (alias) => JSON.parse(readFileSync(join(here, 'node_modules', alias, 'package.json'), 'utf8')).version;
const HISTORY_START = '1943-01-01';
const history = { alias: 'cog-history-2019', end: '2019-01-01' };
const snapshots = [2021, 2022, 2023, 2024, 2025, 2026].map((year) => ({ alias: `cog-${year}`, date: `${year}-01-01` }));

const historyKinds = { COM: 'C', COMA: 'A', COMD: 'D' }; // COMP (a part of a simple merger) is no commune of its own
const snapshotKinds = { 'commune-actuelle': 'C', 'commune-associee': 'A', 'commune-deleguee': 'D', 'arrondissement-municipal': 'M' };

const records = [];
const open = new Map();
const keyOf = (r) => `${r.code}|${r.kind}|${r.name}`;

for (const entry of require(`${history.alias}/data/historique-communes.json`)) {
  const kind = historyKinds[entry.type];
  if (!kind) continue;
  const record = { code: entry.code, from: entry.dateDebut ?? HISTORY_START, to: entry.dateFin ?? null, kind, parent: '', name: entry.nom };
  if (record.to !== null && record.to <= record.from) continue;
  records.push(record);
  if (record.to === null) {
    // Two open entries with the same code, kind and name cannot both be current: keep the later one open.
    const previous = open.get(keyOf(record));
    if (previous) previous.to = record.from;
    open.set(keyOf(record), record);
  }
}

let previousDate = history.end;
for (const snapshot of snapshots) {
  const current = new Map();
  for (const entry of require(`${snapshot.alias}/data/communes.json`)) {
    const kind = snapshotKinds[entry.type];
    if (!kind) throw new Error(`${snapshot.alias}: unknown type ${entry.type}`);
    const record = { code: entry.code, from: null, to: null, kind, parent: kind === 'M' ? entry.commune : '', name: entry.nom };
    current.set(keyOf(record), record);
  }
  for (const [key, record] of open) {
    if (!current.has(key)) {
      record.to = snapshot.date; // ended somewhere in (previousDate, snapshot.date]
      open.delete(key);
    }
  }
  for (const [key, record] of current) {
    if (!open.has(key)) {
      record.from = record.kind === 'M' && previousDate === history.end ? HISTORY_START : previousDate; // began in (previousDate, snapshot.date]
      records.push(record);
      open.set(key, record);
    }
  }
  previousDate = snapshot.date;
}

for (const r of records) {
  if (!/^[0-9][0-9AB][0-9]{3}$/.test(r.code)) throw new Error(`unexpected code ${r.code}`);
  if (/[\t\n]/.test(r.name)) throw new Error(`unexpected name ${r.name}`);
}
records.sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : a.from < b.from ? -1 : a.from > b.from ? 1
  : a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

const header = [
  '# INSEE Code officiel géographique: communes, communes associées and déléguées, arrondissements municipaux, by date.',
  `# history 1943-01-01..${history.end}: @etalab/decoupage-administratif ${versionOf(history.alias)} data/historique-communes.json`,
  ...snapshots.map((s) => `# state on ${s.date}: @etalab/decoupage-administratif ${versionOf(s.alias)} data/communes.json`),
  '# generated by tools/insee-cog/generate.mjs; columns: code from to kind parent name',
];
const lines = records.map((r) => [r.code, r.from, r.to ?? '', r.kind, r.parent, r.name].join('\t'));
const text = [...header, ...lines].join('\n') + '\n';
mkdirSync(dirname(output), { recursive: true });
// No file name nor time in the gzip header: the same sources give the same bytes.
writeFileSync(output, gzipSync(Buffer.from(text, 'utf8'), { level: 9 }));
console.log(`${records.length} names of ${new Set(records.map((r) => r.code)).size} codes written to ${output}`);
