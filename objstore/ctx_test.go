package objstore

import "context"

// ctx is the context of the tests' calls.
var ctx = context.Background()
