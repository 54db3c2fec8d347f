// Copies the built files of the pinned browser libraries (package-lock.json) into the Python
// package, with their licences. Run after `npm ci` when a version changes:
//     cd ui && npm ci && node vendor.mjs
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const target = join(here, "..", "src", "headwater", "server", "ui", "static", "vendor");
const modules = join(here, "node_modules");

// [package, built file, name in vendor/, licence file]
const FILES = [
  ["chart.js", "dist/chart.umd.min.js", "chart.umd.min.js", "LICENSE.md"],
  ["cytoscape", "dist/cytoscape.min.js", "cytoscape.min.js", "LICENSE"],
  ["cytoscape-dagre", "dist/cytoscape-dagre.min.js", "cytoscape-dagre.min.js", "LICENSE"],
  ["vis-timeline", "standalone/umd/vis-timeline-graph2d.min.js", "vis-timeline-graph2d.min.js",
   "LICENSE.MIT.txt"],
  ["vis-timeline", "dist/vis-timeline-graph2d.min.css", "vis-timeline-graph2d.min.css", null],
];

mkdirSync(target, { recursive: true });
const versions = [];
for (const [name, file, as, licence] of FILES) {
  copyFileSync(join(modules, name, file), join(target, as));
  if (licence) {
    copyFileSync(join(modules, name, licence), join(target, `${as}.LICENSE.txt`));
    const { version } = JSON.parse(readFileSync(join(modules, name, "package.json"), "utf8"));
    versions.push(`${name} ${version}: ${as}`);
  }
}
writeFileSync(join(target, "VERSIONS.txt"),
  "Vendored by ui/vendor.mjs from ui/package-lock.json; do not edit by hand.\n"
  + versions.join("\n") + "\n");
console.log(versions.join("\n"));
