// Every operation the explorer sends. `npm run codegen` types them into src/gql/.
import { graphql } from "./gql";

export const SearchConcepts = graphql(`
  query SearchConcepts($filter: ConceptFilter, $first: Int!, $after: String) {
    concepts(filter: $filter, first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      facets {
        traditions {
          name
          conceptCount
        }
        tags {
          name
          conceptCount
        }
        eras(bucketYears: 500) {
          startYear
          endYear
          conceptCount
        }
      }
      nodes {
        id
        slug
        name
        tradition
        eraFrom
        eraTo
        summary
        searchHighlight
      }
    }
  }
`);

export const PickConcepts = graphql(`
  query PickConcepts($search: String!) {
    concepts(filter: { search: $search }, first: 8) {
      nodes {
        id
        slug
        name
        tradition
      }
    }
  }
`);

export const ConceptPage = graphql(`
  query ConceptPage($slug: String!) {
    concept(slug: $slug) {
      id
      slug
      name
      aliases
      tradition
      eraFrom
      eraTo
      summary
      body
      tags
      version
      sepUrl
      relations {
        id
        type
        weight
        note
        sourceId
        targetId
        source {
          id
          slug
          name
        }
        target {
          id
          slug
          name
        }
      }
      theses(first: 50) {
        id
        statement
        stance
        status
        provenance {
          kind
          model
        }
        arguments {
          id
          polarity
          text
          strength
        }
        sources {
          author
          work
          year
          url
        }
      }
    }
  }
`);

export const ConceptGraph = graphql(`
  query ConceptGraph($rootId: ID!, $depth: Int!, $types: [RelationType!]) {
    graph(rootId: $rootId, depth: $depth, types: $types) {
      truncated
      nodes {
        id
        slug
        name
        tradition
      }
      edges {
        id
        type
        sourceId
        targetId
      }
    }
  }
`);

export const ConceptRoot = graphql(`
  query ConceptRoot($slug: String!) {
    concept(slug: $slug) {
      id
      slug
      name
      tradition
    }
  }
`);

export const FindPath = graphql(`
  query FindPath($fromId: ID!, $toId: ID!, $maxDepth: Int!) {
    path(fromId: $fromId, toId: $toId, maxDepth: $maxDepth) {
      length
      concepts {
        id
        slug
        name
        tradition
      }
      relations {
        id
        type
        sourceId
        targetId
      }
    }
  }
`);

export const Register = graphql(`
  mutation Register($email: String!, $password: String!, $displayName: String!) {
    register(email: $email, password: $password, displayName: $displayName) {
      __typename
      ... on AuthSuccess {
        accessToken
        expiresIn
        refreshToken
        user {
          id
          email
          displayName
          role
        }
      }
      ... on ValidationFailed {
        fields {
          field
          message
        }
      }
      ... on Problem {
        message
      }
    }
  }
`);

export const Login = graphql(`
  mutation Login($email: String!, $password: String!) {
    login(email: $email, password: $password) {
      __typename
      ... on AuthSuccess {
        accessToken
        expiresIn
        refreshToken
        user {
          id
          email
          displayName
          role
        }
      }
      ... on Problem {
        message
      }
    }
  }
`);

export const Refresh = graphql(`
  mutation Refresh($refreshToken: String!) {
    refreshToken(refreshToken: $refreshToken) {
      __typename
      ... on AuthSuccess {
        accessToken
        expiresIn
        refreshToken
        user {
          id
          email
          displayName
          role
        }
      }
      ... on Problem {
        message
      }
    }
  }
`);

export const Logout = graphql(`
  mutation Logout($refreshToken: String!) {
    logout(refreshToken: $refreshToken) {
      __typename
    }
  }
`);

export const CreateConcept = graphql(`
  mutation CreateConcept($input: CreateConceptInput!) {
    createConcept(input: $input) {
      __typename
      ... on ConceptSuccess {
        concept {
          id
          slug
          version
        }
      }
      ... on ValidationFailed {
        fields {
          field
          message
        }
      }
      ... on Problem {
        message
      }
    }
  }
`);

export const UpdateConcept = graphql(`
  mutation UpdateConcept($input: UpdateConceptInput!) {
    updateConcept(input: $input) {
      __typename
      ... on ConceptSuccess {
        concept {
          id
          slug
          version
        }
      }
      ... on ValidationFailed {
        fields {
          field
          message
        }
      }
      ... on Conflict {
        currentVersion
      }
      ... on Problem {
        message
      }
    }
  }
`);

export const DeleteConcept = graphql(`
  mutation DeleteConcept($id: ID!) {
    deleteConcept(id: $id) {
      __typename
      ... on Problem {
        message
      }
    }
  }
`);

export const RelateConcepts = graphql(`
  mutation RelateConcepts($input: RelateConceptsInput!) {
    relateConcepts(input: $input) {
      __typename
      ... on ValidationFailed {
        fields {
          field
          message
        }
      }
      ... on Problem {
        message
      }
    }
  }
`);

export const RemoveRelation = graphql(`
  mutation RemoveRelation($id: ID!) {
    removeRelation(id: $id) {
      __typename
      ... on Problem {
        message
      }
    }
  }
`);

export const CreateThesis = graphql(`
  mutation CreateThesis($input: CreateThesisInput!) {
    createThesis(input: $input) {
      __typename
      ... on ValidationFailed {
        fields {
          field
          message
        }
      }
      ... on Problem {
        message
      }
    }
  }
`);

export const PublishThesis = graphql(`
  mutation PublishThesis($id: ID!) {
    updateThesis(input: { id: $id, status: PUBLISHED }) {
      __typename
      ... on Problem {
        message
      }
    }
  }
`);

export const DeleteThesis = graphql(`
  mutation DeleteThesis($id: ID!) {
    deleteThesis(id: $id) {
      __typename
      ... on Problem {
        message
      }
    }
  }
`);

export const AddArgument = graphql(`
  mutation AddArgument($input: AddArgumentInput!) {
    addArgument(input: $input) {
      __typename
      ... on ValidationFailed {
        fields {
          field
          message
        }
      }
      ... on Problem {
        message
      }
    }
  }
`);

export const RemoveArgument = graphql(`
  mutation RemoveArgument($thesisId: ID!, $argumentId: ID!) {
    removeArgument(thesisId: $thesisId, argumentId: $argumentId) {
      __typename
      ... on Problem {
        message
      }
    }
  }
`);

// Changes pushed by the server (graphql-transport-ws): the concept page refetches on each.
export const ConceptChanged = graphql(`
  subscription ConceptChanged($id: ID!) {
    conceptChanged(id: $id) {
      kind
      id
      version
      concept {
        id
        slug
      }
    }
  }
`);

export const ThesisChanged = graphql(`
  subscription ThesisChanged($conceptId: ID!) {
    thesisChanged(conceptId: $conceptId) {
      kind
      id
      version
    }
  }
`);

export const RelationChanged = graphql(`
  subscription RelationChanged($conceptId: ID!) {
    relationChanged(conceptId: $conceptId) {
      kind
      id
    }
  }
`);

// The explorer runs AI mutations in the background (`background: true`): the answer is
// `AiJobQueued` at once, and `AiJobProgress` follows the job to its result.
export const GenerateTheses = graphql(`
  mutation GenerateTheses($conceptId: ID!, $count: Int!) {
    generateTheses(conceptId: $conceptId, count: $count, background: true) {
      __typename
      ... on AiJobQueued {
        job {
          id
          status
        }
      }
      ... on GenerateThesesSuccess {
        theses {
          id
          statement
        }
      }
      ... on AiRateLimited {
        retryAfterSeconds
      }
      ... on Problem {
        message
      }
    }
  }
`);

export const SuggestRelations = graphql(`
  mutation SuggestRelations($conceptId: ID!) {
    suggestRelations(conceptId: $conceptId, limit: 5, background: true) {
      __typename
      ... on AiJobQueued {
        job {
          id
          status
        }
      }
      ... on SuggestRelationsSuccess {
        suggestions {
          id
        }
      }
      ... on AiRateLimited {
        retryAfterSeconds
      }
      ... on Problem {
        message
      }
    }
  }
`);

export const AiJobProgress = graphql(`
  subscription AiJobProgress($jobId: ID!) {
    aiJobProgress(jobId: $jobId) {
      id
      status
      failure {
        code
        message
      }
      result {
        __typename
        ... on GenerateThesesSuccess {
          theses {
            id
            statement
          }
        }
        ... on SuggestRelationsSuccess {
          suggestions {
            id
          }
        }
      }
    }
  }
`);

export const AiJob = graphql(`
  query AiJob($id: ID!) {
    aiJob(id: $id) {
      id
      status
      failure {
        code
        message
      }
      result {
        __typename
        ... on GenerateThesesSuccess {
          theses {
            id
            statement
          }
        }
        ... on SuggestRelationsSuccess {
          suggestions {
            id
          }
        }
      }
    }
  }
`);

export const PendingSuggestions = graphql(`
  query PendingSuggestions($conceptId: ID!) {
    relationSuggestions(conceptId: $conceptId, status: PENDING) {
      id
      type
      rationale
      source {
        slug
        name
      }
      target {
        slug
        name
      }
    }
  }
`);

export const AcceptSuggestion = graphql(`
  mutation AcceptSuggestion($id: ID!) {
    acceptRelationSuggestion(id: $id) {
      __typename
      ... on Problem {
        message
      }
    }
  }
`);

export const Users = graphql(`
  query Users($search: String) {
    users(search: $search, first: 50) {
      __typename
      ... on AccountList {
        accounts {
          id
          email
          displayName
          role
          createdAt
        }
      }
      ... on Problem {
        message
      }
    }
  }
`);

export const SetUserRole = graphql(`
  mutation SetUserRole($userId: ID!, $role: Role!) {
    setUserRole(userId: $userId, role: $role) {
      __typename
      ... on UserSuccess {
        user {
          id
          role
        }
      }
      ... on Problem {
        message
      }
    }
  }
`);
