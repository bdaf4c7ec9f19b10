//! FIS chaos experiments: lands with issue 5 (see README.md). Nothing here yet.
