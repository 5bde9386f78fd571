// Package fuzz holds fuzz targets that drive the public API of package
// reftable, and the object database reader internal/odb, with hostile and
// random input. Seeds come from the git-written tables in
// ../reftable/testdata/git, the tables laid out as JGit lays them out in
// ../reftable/testdata/layouts and the packs git wrote in testdata/odb;
// crashers found are kept under testdata/fuzz so that they run as
// ordinary tests.
package fuzz
