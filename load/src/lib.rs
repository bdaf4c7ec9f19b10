//! goose load profiles: lands with issue 4 (see README.md). Nothing here yet.
