package stat

import "testing"

func TestNetworkKind(t *testing.T) {
	for magic, want := range map[int64]string{
		0x6969:     "nfs",
		0xff534d42: "cifs",
		0x0bd00bd0: "lustre",
		0x47504653: "gpfs",
		0x65735546: "fuse",
		0xef53:     "", // ext4
		0x58465342: "", // xfs
		0x01021994: "", // tmpfs
	} {
		if got := networkKind(magic); got != want {
			t.Errorf("networkKind(%#x) = %q, want %q", magic, got, want)
		}
	}
	if ok, kind, err := NetworkFS(t.TempDir()); err != nil || ok != (kind != "") {
		t.Errorf("NetworkFS(temp dir) = %v, %q, %v", ok, kind, err)
	}
}
