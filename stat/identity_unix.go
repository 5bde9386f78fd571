//go:build unix

package stat

import "syscall"

func sysIdentity(sys any) (dev, ino uint64) {
	if st, ok := sys.(*syscall.Stat_t); ok {
		return uint64(st.Dev), uint64(st.Ino)
	}
	return 0, 0
}
