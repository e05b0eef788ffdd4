// validate_schema.mjs - check captured server messages against the MCP
// specification's own JSON Schema (../../../shared/mcp-spec/<rev>/schema.json
// or MCPI_SPEC_DIR), and compile every tool's inputSchema/outputSchema as
// JSON Schema 2020-12. Usage: node validate_schema.mjs CAPTURES.json
// CAPTURES: [{"rev": "2025-11-25", "def": "InitializeResult", "value": {...}}, ...]
import { readFileSync } from "node:fs";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const specDir = process.env.MCPI_SPEC_DIR;
const captures = JSON.parse(readFileSync(process.argv[2], "utf8"));
const ajvs = {};
function ajvFor(rev) {
  if (!ajvs[rev]) {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    const schema = JSON.parse(readFileSync(`${specDir}/${rev}/schema.json`, "utf8"));
    schema.$id = `mcp-${rev}`;
    ajv.addSchema(schema);
    ajvs[rev] = ajv;
  }
  return ajvs[rev];
}

let failed = 0, checked = 0;
for (const c of captures) {
  const ajv = ajvFor(c.rev);
  const validate = ajv.getSchema(`mcp-${c.rev}#/$defs/${c.def}`);
  if (!validate) { console.error(`no definition ${c.def} in ${c.rev}`); failed++; continue; }
  checked++;
  if (!validate(c.value)) {
    failed++;
    console.error(`${c.rev} ${c.def} (${c.label}): ${ajv.errorsText(validate.errors)}`);
  }
  if (c.def === "ListToolsResult") {
    for (const t of c.value.tools) {
      for (const k of ["inputSchema", "outputSchema"]) {
        try { new Ajv2020({ strict: true, strictRequired: false, allowUnionTypes: true }).addFormat("uuid", true)
                .addFormat("date", true).addFormat("date-time", true).addFormat("email", true).compile(t[k]); checked++; }
        catch (e) { failed++; console.error(`${t.name}.${k} does not compile: ${e.message}`); }
      }
    }
  }
}
console.log(JSON.stringify({ checked, failed }));
process.exit(failed ? 1 : 0);
