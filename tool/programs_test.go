package tool_test

import (
	"github.com/refstore/refstore/tool"
	"github.com/refstore/refstore/tool/bench"
	"github.com/refstore/refstore/tool/demo"
	"github.com/refstore/refstore/tool/doctor"
)

// The commands of the subpackages, in the order the reftable programs
// list them (cmd/reftable and cmd/reftable-s3): the tests of package
// tool see the whole tool, as its help and docs/cli.md describe it. This
// external test package may import them; package tool may not, since
// they import it.
func init() {
	tool.AddTestCommands(demo.Command, bench.Command, doctor.Command)
}
