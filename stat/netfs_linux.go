package stat

import "golang.org/x/sys/unix"

// Magic numbers of file systems whose inode numbers or attribute caches
// cannot be trusted to detect a replaced file (statfs(2) f_type).
var networkMagic = map[int64]string{
	0x6969:     "nfs",
	0x517b:     "smb",
	0xff534d42: "cifs",
	0xfe534d42: "smb2",
	0x0bd00bd0: "lustre",
	0x47504653: "gpfs",
	0x65735546: "fuse",
	0x6e667364: "nfsd",
	0x564c:     "ncp",
	0x5346414f: "afs",
}

// NetworkFS reports whether dir is on a network or user-space file system
// (NFS, SMB/CIFS, Lustre, GPFS, FUSE, AFS), and its kind.
func NetworkFS(dir string) (bool, string, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return false, "", err
	}
	kind, ok := networkMagic[int64(st.Type)]
	return ok, kind, nil
}
