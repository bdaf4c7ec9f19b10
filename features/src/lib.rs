//! Gherkin acceptance suite: lands with issue 3 (see README.md). Nothing here yet.
