declare module "virtual:readme-examples" {
  const examples: { title: string; query: string }[];
  export default examples;
}
