// Runs the npm package address-parse on the labelled address set and prints
// the same accuracy figures as `cargo run --release -p address --example bench`.
//
// Setup (node_modules is git-ignored):  cd bench/address && npm install --no-save --no-package-lock address-parse
// Run from the repository root:         node bench/address/compare.js [labelled.jsonl ...] [--rounds N]
//
// address-parse resolves to county level only (a 6-digit code); it has no
// township or village codes, so those levels count as correct only where the
// label itself leaves them empty.
'use strict';
const fs = require('fs');
const path = require('path');

let AddressParse;
try {
  AddressParse = require('address-parse').default;
} catch (error) {
  console.error('address-parse is not installed: cd bench/address && npm install --no-save --no-package-lock address-parse');
  process.exit(2);
}

const args = process.argv.slice(2);
let rounds = 5;
const files = [];
for (let idx = 0; idx < args.length; idx++) {
  if (args[idx] === '--rounds') rounds = Number(args[++idx]);
  else files.push(args[idx]);
}
if (files.length === 0) {
  files.push('crates/address/bench/labelled.jsonl', 'crates/address/bench/tricky.jsonl', 'crates/address/bench/holdout.jsonl');
}
const set = [];
for (const file of files) {
  const text = fs.readFileSync(path.resolve(file), 'utf8');
  text.split('\n').forEach((line, lineIdx) => {
    if (line.trim() === '') return;
    try {
      set.push(JSON.parse(line));
    } catch (error) {
      console.error(`${file} line ${lineIdx + 1}: ${error.message}`);
      process.exit(2);
    }
  });
}

function parseOne(text) {
  const [result] = AddressParse.parse(text);
  return result || {};
}

function emptyAccuracy() {
  return { n: 0, county: 0, township: 0, village: 0, name: 0, phone: 0, countyEmpty: 0 };
}

function add(accuracy, labelled, result) {
  accuracy.n += 1;
  const county = result.code && result.code.length >= 6 ? result.code.slice(0, 6) : null;
  const countyOk = county === (labelled.county || null);
  const townshipOk = countyOk && !labelled.township;
  const villageOk = townshipOk && !labelled.village;
  accuracy.county += countyOk ? 1 : 0;
  accuracy.township += townshipOk ? 1 : 0;
  accuracy.village += villageOk ? 1 : 0;
  accuracy.countyEmpty += county ? 0 : 1;
  accuracy.name += !labelled.name || result.name === labelled.name ? 1 : 0;
  const phone = result.mobile || result.phone || '';
  accuracy.phone += !labelled.phone || phone.replace(/[^0-9*]/g, '') === labelled.phone.replace(/[^0-9*]/g, '') ? 1 : 0;
}

function percent(correct, total) {
  return (total === 0 ? 0 : (100 * correct) / total).toFixed(2).padStart(6);
}

const groups = new Map([['all', emptyAccuracy()]]);
for (const labelled of set) {
  const result = parseOne(labelled.text);
  for (const key of ['all', `source:${labelled.source}`, `format:${labelled.format}`]) {
    if (!groups.has(key)) groups.set(key, emptyAccuracy());
    add(groups.get(key), labelled, result);
  }
}
console.log(`address-parse ${require('address-parse/package.json').version}: ${set.length} labelled addresses from ${files.join(', ')}`);
const keys = [...groups.keys()];
const ordered = ['all', ...keys.filter((key) => key !== 'all').sort()];
for (const key of ordered) {
  const a = groups.get(key);
  console.log(
    `${key.padEnd(22)} n=${String(a.n).padStart(5)}  county ${percent(a.county, a.n)}%  township ${percent(a.township, a.n)}%  village ${percent(a.village, a.n)}%  name ${percent(a.name, a.n)}%  phone ${percent(a.phone, a.n)}%  county left empty ${a.countyEmpty}`
  );
}
const started = process.hrtime.bigint();
let parsed = 0;
for (let round = 0; round < rounds; round++) {
  for (const labelled of set) {
    parseOne(labelled.text);
    parsed += 1;
  }
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
console.log(`speed: ${(parsed / seconds).toFixed(0)} addresses/s on one thread (${parsed} parses)`);
