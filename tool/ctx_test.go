package tool

import "context"

// ctx is the context of the tests' calls into the library.
var ctx = context.Background()
