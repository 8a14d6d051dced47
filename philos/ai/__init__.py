"""Claude-backed mutations: prompts, limits and the work behind each AI mutation."""
