package stat

import "golang.org/x/sys/unix"

// networkKind returns the name of the file system with statfs(2) magic
// number magic when its inode numbers or attribute caches cannot be
// trusted to detect a replaced file, else "". (A switch, not a map: no
// map is built when a program starts.)
func networkKind(magic int64) string {
	switch magic {
	case 0x6969:
		return "nfs"
	case 0x517b:
		return "smb"
	case 0xff534d42:
		return "cifs"
	case 0xfe534d42:
		return "smb2"
	case 0x0bd00bd0:
		return "lustre"
	case 0x47504653:
		return "gpfs"
	case 0x65735546:
		return "fuse"
	case 0x6e667364:
		return "nfsd"
	case 0x564c:
		return "ncp"
	case 0x5346414f:
		return "afs"
	}
	return ""
}

// NetworkFS reports whether dir is on a network or user-space file system
// (NFS, SMB/CIFS, Lustre, GPFS, FUSE, AFS), and its kind.
func NetworkFS(dir string) (bool, string, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return false, "", err
	}
	kind := networkKind(int64(st.Type))
	return kind != "", kind, nil
}
