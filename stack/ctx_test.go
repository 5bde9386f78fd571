package stack_test

import "context"

// ctx is the context of the external tests' calls.
var ctx = context.Background()
