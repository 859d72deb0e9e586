// Package cloudinit renders cloud-init user data: the #cloud-config document a cloud VM reads
// at its first boot (on Azure, its custom data).
//
// A Config lists packages to install, files to write (with owner and mode; binary content is
// base64-encoded) and commands to run, in that order, which is how cloud-init applies them.
// Render turns it into the YAML document; Parse reads one back, which tests use to check what a
// node will do. The package knows nothing of Marina: callers decide what the files are (see
// internal/cluster's azure provider, which writes a node's configuration, credentials and a
// systemd unit and installs the marina binary).
//
//	ud, _ := cloudinit.Config{
//		Files:    []cloudinit.File{{Path: "/etc/motd", Mode: 0o644, Content: []byte("hi\n")}},
//		Commands: [][]string{{"systemctl", "daemon-reload"}},
//	}.Render()
package cloudinit
