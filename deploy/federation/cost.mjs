// The gateway's query cost limit: an estimate of answer size checked before planning. Every
// field costs 1; a list multiplies what is selected inside it by its `first` argument (or,
// without one, by the length a list is assumed to have). A connection's `edges` and `nodes`
// are as long as the connection's `first`, which already counted.
import { GraphQLError, getNamedType, getNullableType, isListType, Kind } from "graphql";

const ASSUMED_LIST_LENGTH = 20;

function listLength(field, variables) {
  const first = (field.arguments ?? []).find((a) => a.name.value === "first");
  if (!first) return ASSUMED_LIST_LENGTH;
  if (first.value.kind === Kind.INT) return Number(first.value.value);
  if (first.value.kind === Kind.VARIABLE) {
    const value = Number(variables?.[first.value.name.value]);
    return Number.isFinite(value) && value > 0 ? value : ASSUMED_LIST_LENGTH;
  }
  return ASSUMED_LIST_LENGTH;
}

function selectionCost(context, selectionSet, parentType, variables, seen) {
  if (!selectionSet || !parentType?.getFields) return 0;
  let total = 0;
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      const definition = parentType.getFields()[selection.name.value];
      if (!definition) continue; // __typename and introspection
      const type = getNullableType(definition.type);
      const inner = selectionCost(
        context, selection.selectionSet, getNamedType(type), variables, seen,
      );
      const page = parentType.name.endsWith("Connection");
      const length = isListType(type) ? (page ? 1 : listLength(selection, variables)) : 1;
      total += 1 + length * inner;
    } else {
      const fragment =
        selection.kind === Kind.FRAGMENT_SPREAD
          ? context.getFragment(selection.name.value)
          : selection;
      if (!fragment || seen.has(fragment)) continue;
      const condition = fragment.typeCondition
        ? context.getSchema().getType(fragment.typeCondition.name.value)
        : parentType;
      // An abstract type's fragments: the costliest member counts (see the object types).
      const target = condition?.getFields ? condition : parentType;
      seen.add(fragment);
      total += selectionCost(context, fragment.selectionSet, target, variables, seen);
      seen.delete(fragment);
    }
  }
  return total;
}

export function costLimitPlugin(maxCost) {
  return {
    onValidate({ addValidationRule, params }) {
      const variables = params.variables ?? params.variableValues;
      addValidationRule((context) => ({
        OperationDefinition(node) {
          const schema = context.getSchema();
          const root =
            node.operation === "mutation" ? schema.getMutationType() : schema.getQueryType();
          const cost = selectionCost(context, node.selectionSet, root, variables, new Set());
          if (cost > maxCost) {
            context.reportError(
              new GraphQLError(
                `Query cost ${cost} exceeds the limit of ${maxCost}: ask for fewer items ` +
                  "(smaller `first`) or fewer fields inside lists.",
                { nodes: [node], extensions: { code: "QUERY_TOO_COSTLY", cost, maxCost } },
              ),
            );
          }
        },
      }));
    },
  };
}
