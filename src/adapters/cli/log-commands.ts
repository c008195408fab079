import * as fs from 'node:fs';
import { createHash } from 'node:crypto';
import { isProvenaError } from '../../core/errors.ts';
import { formatKeyId } from '../../core/tlog/note-keys.ts';
import type { NoteVerifier } from '../../core/tlog/note.ts';
import { verifyReceipt } from '../../core/tlog/receipt.ts';
import { isBlinded } from '../../core/tlog/entry.ts';
import { type KeyHistory, keysFollowed, parseKeyHistory } from '../../core/tlog/key-rotation.ts';
import { CliError, usageError } from './cli-error.ts';
import { describeEntry, readKeyArg, runMonitor, verifierFrom } from './log-monitor.ts';
import { parse } from './run-cli.ts';
import { loadSettings } from '../config/settings.ts';

const out = (line: string) => process.stdout.write(`${line}\n`);

/** `provena log verify-receipt …` and `provena log monitor …`. */
export async function logCommand(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'verify-receipt':
      return verifyReceiptCommand(rest);
    case 'rotate-key': {
      const { values, positionals } = parse(rest, { data: { type: 'string' }, config: { type: 'string' } }, true);
      if (positionals.length > 0) throw usageError('usage: provena log rotate-key [--data DIR] (with the server stopped)');
      const flags: Record<string, string> = {};
      if (values.data !== undefined) flags.data = values.data;
      if (values.config !== undefined) flags.config = values.config;
      const { rotateLogKey } = await import('./log-rotate-key.ts');
      await rotateLogKey(loadSettings(flags, env), out);
      return 0;
    }
    case 'monitor': {
      const { values, positionals } = parse(
        rest,
        { state: { type: 'string' }, watch: { type: 'string', multiple: true }, key: { type: 'string' }, token: { type: 'string' } },
        true,
      );
      const server = positionals[0] ?? env.PROVENA_SERVER;
      if (!server || positionals.length > 1) throw usageError('usage: provena log monitor SERVER --state FILE [--watch NAME...] [--key KEY] [--token READ_KEY]');
      if (!values.state) throw usageError('give --state FILE: where the monitor keeps the last checkpoint it verified');
      return runMonitor({
        server,
        stateFile: values.state,
        watch: values.watch ?? [],
        keyText: values.key === undefined ? undefined : readKeyArg(values.key),
        // opens the blinded entries of the channels this key reads (docs/security.md)
        token: values.token || env.PROVENA_TOKEN || undefined,
        out,
      });
    }
    default:
      throw usageError('log needs one of: verify-receipt RECEIPT_FILE [--key KEY], monitor SERVER --state FILE [--watch NAME...], rotate-key [--data DIR]');
  }
}

async function verifyReceiptCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { key: { type: 'string' }, keys: { type: 'string' }, file: { type: 'string' } }, true);
  if (positionals.length !== 1) throw usageError('usage: provena log verify-receipt RECEIPT_FILE [--key KEY_TEXT_OR_FILE [--keys SERVER/log/keys|FILE]] [--file PACKAGE]');
  const receipt = readReceiptFile(positionals[0]!);
  if (values.keys !== undefined && values.key === undefined) throw usageError('--keys follows rotations from a key you trust: give that key with --key');
  let verifiers: NoteVerifier[] | null = values.key === undefined ? null : [verifierFrom(readKeyArg(values.key))];
  if (values.key !== undefined && values.keys !== undefined) {
    // the keys the log announced since the pinned one, each rotation proved by its receipt
    const history = await readKeyHistoryArg(values.keys);
    try {
      verifiers = keysFollowed(readKeyArg(values.key), history.origin, history.rotations).map((k) => verifierFrom(k));
    } catch (e) {
      if (isProvenaError(e)) throw new CliError(`the receipt does not verify (${e.code}): ${e.detail}`, 1);
      throw e;
    }
  }
  let verified;
  try {
    verified = verifyReceipt(receipt, verifiers);
  } catch (e) {
    if (isProvenaError(e)) throw new CliError(`the receipt does not verify (${e.code}): ${e.detail}`, 1);
    throw e;
  }
  const { entry, index, checkpoint } = verified;
  if (values.file !== undefined) {
    if (isBlinded(entry)) {
      throw new CliError(
        `the receipt's entry ${index} is blinded (a private channel) and the receipt has no opening: fetch FILE.receipt.json with a read key for the channel, then verify again`,
        1,
      );
    }
    checkFileMatches(values.file, entry.sha256, entry.size);
  }
  out(`entry ${index}: ${describeEntry(entry)}`);
  if (verified.opened) out(`the entry is blinded in the public log; the receipt's opening matches its commitment`);
  out(`is in the log ${checkpoint.origin} of size ${checkpoint.size} (inclusion proof verified)`);
  if (verified.verifiedBy) {
    out(`signed by ${verified.verifiedBy.map((s) => `${s.name}+${formatKeyId(s.keyId)}`).join(', ')}: receipt verified`);
  } else {
    const signers = verified.otherSignatures.map((s) => `${s.name}+${formatKeyId(s.keyId)}`).join(', ');
    out(`signature NOT checked (no --key given); the checkpoint claims to be signed by ${signers}`);
    out(`to verify it, pass the log's key: --key "$(curl -s SERVER/log/key)" or a key you obtained out of band`);
  }
  return 0;
}

/** The key history: /log/keys of the server (a URL) or a saved copy. */
async function readKeyHistoryArg(where: string): Promise<KeyHistory> {
  let text: string;
  try {
    if (/^https?:\/\//.test(where)) {
      const res = await fetch(where);
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      text = await res.text();
    } else {
      text = fs.readFileSync(where, 'utf8');
    }
  } catch (e) {
    throw new CliError(`cannot read the key history ${where}: ${(e as Error).message}`, 3);
  }
  try {
    return parseKeyHistory(text);
  } catch (e) {
    throw usageError(`${where} is not a log key history (SERVER/log/keys): ${isProvenaError(e) ? e.detail : String(e)}`);
  }
}

function readReceiptFile(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw usageError(`cannot read ${file}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw usageError(`${file} is not JSON; give a receipt (FILE.receipt.json, or the upload response)`);
  }
  // An upload response carries the receipt under "receipt": accept it as saved.
  const obj = json as Record<string, unknown> | null;
  if (obj && typeof obj === 'object' && !('log_index' in obj) && typeof obj.receipt === 'object') return obj.receipt;
  return json;
}

function checkFileMatches(file: string, sha256: string | null, size: number | null): void {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw usageError(`cannot read ${file}: ${(e as Error).message}`);
  }
  const digest = createHash('sha256').update(bytes).digest('hex');
  if (digest !== sha256 || bytes.length !== size) {
    throw new CliError(`${file} (sha256 ${digest}, ${bytes.length} bytes) is not the file the receipt logs (sha256 ${sha256}, ${size} bytes)`, 1);
  }
}
