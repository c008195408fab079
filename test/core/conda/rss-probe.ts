import { readPackageMetadata } from '../../../src/core/conda/package-reader.ts';
import type { PackageFormat } from '../../../src/core/conda/types.ts';

/**
 * Run as a child process by large-package.test.ts: reads one package and prints the package name
 * and how far RSS rose above its baseline while reading. A fresh process, because the test
 * process has just built the package and its RSS still holds those pages.
 * Usage: node --import tsx rss-probe.ts <path> <format> [<limits as JSON>]
 */
const [path, format, limits] = process.argv.slice(2);
const baseline = process.memoryUsage.rss();
let peak = baseline;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 2);
const meta = await readPackageMetadata(path, format as PackageFormat, limits ? JSON.parse(limits) : undefined);
clearInterval(sampler);
peak = Math.max(peak, process.memoryUsage.rss());
process.stdout.write(JSON.stringify({ name: meta.index.name, growth: peak - baseline }));
