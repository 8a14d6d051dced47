// The gateway's query cost limit: the monolith's cost model (philos/gateway/query_limits.py),
// applied to the client's document before anything is planned, so a query costs the same
// through the gateway as in one process. The per-field hints come from the schema
// (`philos export-schema --cost-hints` writes cost-hints.json; a test keeps it in step).
//
// Every field costs 1 plus CALL_COST per store call it makes; a list multiplies what it
// selects by its `first` (or by the items it is assumed to hold); walks grow with `depth`.
import { readFileSync } from "node:fs";
import {
  GraphQLError,
  Kind,
  getNamedType,
  getNullableType,
  isInterfaceType,
  isListType,
  isObjectType,
  valueFromAST,
} from "graphql";

const HINTS = JSON.parse(readFileSync(new URL("./cost-hints.json", import.meta.url), "utf8"));
const NO_HINT = { calls: 0, items: 1, perDepth: 1 };

class Coster {
  constructor(schema, fragments, variables, ceiling) {
    Object.assign(this, { schema, fragments, variables, ceiling });
  }

  selectionCost(selectionSet, parent) {
    let total = 0;
    for (const selection of selectionSet.selections) {
      if (total > this.ceiling) break;
      if (selection.kind === Kind.FIELD) {
        total += this.fieldCost(selection, parent);
      } else {
        const fragment =
          selection.kind === Kind.FRAGMENT_SPREAD
            ? this.fragments[selection.name.value]
            : selection;
        if (!fragment) continue;
        const condition = fragment.typeCondition
          ? this.schema.getType(fragment.typeCondition.name.value)
          : null;
        total += this.selectionCost(fragment.selectionSet, condition ?? parent);
      }
    }
    return Math.min(total, this.ceiling + 1);
  }

  intArgument(node, definition, name) {
    const declared = definition.args.find((a) => a.name === name);
    if (!declared) return null;
    const given = (node.arguments ?? []).find((a) => a.name.value === name);
    const value = given
      ? valueFromAST(given.value, declared.type, this.variables)
      : declared.defaultValue;
    return Number.isInteger(value) && value >= 1 && value <= HINTS.maxInt ? value : null;
  }

  fieldCost(node, parent) {
    if (node.name.value.startsWith("__") || !(isObjectType(parent) || isInterfaceType(parent))) {
      return 1;
    }
    const definition = parent.getFields()[node.name.value];
    if (!definition) return 1;
    const hint = HINTS.fields[`${parent.name}.${node.name.value}`] ?? NO_HINT;
    let growth = 1;
    if (hint.perDepth > 1) {
      const steps =
        this.intArgument(node, definition, "depth") ||
        this.intArgument(node, definition, "maxDepth") ||
        1;
      growth = hint.perDepth ** (Math.min(steps, HINTS.maxSteps) - 1);
    }
    const first = this.intArgument(node, definition, "first");
    let multiplier = 1;
    if (first !== null) multiplier = first;
    else if (isListType(getNullableType(definition.type))) multiplier = hint.items * growth;
    const inner = node.selectionSet
      ? this.selectionCost(node.selectionSet, getNamedType(definition.type))
      : 0;
    const calls = HINTS.callCost * hint.calls * growth;
    return Math.min(1 + calls + multiplier * inner, this.ceiling + 1);
  }
}

export function operationCost(schema, document, operationName, variables, ceiling) {
  const fragments = {};
  const operations = [];
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition;
    if (definition.kind === Kind.OPERATION_DEFINITION) operations.push(definition);
  }
  const chosen = operations.find((o) => !operationName || o.name?.value === operationName);
  if (!chosen) return 0;
  const root = schema.getRootType(chosen.operation);
  if (!root) return 0;
  return new Coster(schema, fragments, variables ?? {}, ceiling).selectionCost(
    chosen.selectionSet,
    root,
  );
}

export function costLimitPlugin(maxCost) {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const cost = operationCost(
        args.schema,
        args.document,
        args.operationName,
        args.variableValues,
        maxCost,
      );
      if (cost > maxCost) {
        setResultAndStopExecution({
          errors: [
            new GraphQLError(
              `The query is too expensive: its cost is over the limit of ${maxCost}. ` +
                "Ask for smaller pages (`first`) or fewer nested lists.",
              { extensions: { code: "COST_LIMIT_EXCEEDED", limit: maxCost } },
            ),
          ],
        });
      }
    },
  };
}
