//! Knowledge bases (DESIGN.md §3): `text_file` and `chroma` (embedded store or Chroma server).
