/**
 * What the prompt's help and the option check read from a citty command:
 * its name, description and arguments, read at run time (citty allows them
 * to be lazy) without caring about its `run`.
 */

export interface ArgShape {
  name: string;
  type: "positional" | "string" | "boolean" | "enum" | "number";
  required: boolean;
  valueHint: string | undefined;
  aliases: string[];
}

export interface CommandShape {
  name: string;
  description: string;
  args: ArgShape[];
}

const TYPES = new Set(["positional", "string", "boolean", "enum", "number"]);

function isArgType(value: unknown): value is ArgShape["type"] {
  return typeof value === "string" && TYPES.has(value);
}

const record = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !("then" in value);

/** The command's shape, or undefined when its meta or args are lazy (functions or promises). */
export function shapeOf(command: { meta?: unknown; args?: unknown }): CommandShape | undefined {
  const { meta, args } = command;
  if (!record(meta) || typeof meta.name !== "string") return undefined;
  const shape: CommandShape = { name: meta.name, description: typeof meta.description === "string" ? meta.description : "", args: [] };
  if (args === undefined) return shape;
  if (!record(args)) return undefined;
  for (const [name, def] of Object.entries(args)) {
    if (!record(def) || !isArgType(def.type)) continue;
    const alias = def.alias;
    shape.args.push({
      name,
      type: def.type,
      required: def.required === true || (def.type === "positional" && def.required !== false),
      valueHint: typeof def.valueHint === "string" ? def.valueHint : undefined,
      aliases: typeof alias === "string" ? [alias] : Array.isArray(alias) ? alias.filter((a) => typeof a === "string") : [],
    });
  }
  return shape;
}
