"""The generator side: embeddings, prompt building, output parsing, query generators (the student LLM through
transformers on CPU, and a key-phrase baseline), and the generator worker that writes features to Feast."""
