import type { RelationType } from "./gql/graphql";

export const RELATION_TYPES: RelationType[] = [
  "IS_A",
  "PART_OF",
  "INFLUENCED_BY",
  "DERIVES_FROM",
  "OPPOSES",
  "CONTRADICTS",
  "ENTAILS",
  "REFINES",
  "ANALOGOUS_TO",
  "RELATED_TO",
];
