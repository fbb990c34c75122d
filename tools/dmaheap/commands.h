// The dmaheap tool's commands. Each returns the process exit code: 0 done, 1 failed (with a
// message on stderr naming what failed), 2 usage.
#ifndef DMAHEAP_TOOLS_DMAHEAP_COMMANDS_H
#define DMAHEAP_TOOLS_DMAHEAP_COMMANDS_H

#include <sys/types.h>

#include <string>
#include <vector>

#include "client/control.h"
#include "client/views.h"
#include "dmaheap/device.h"

namespace dmaheap {

// Read-only views come from the running daemon, else the kernel's files, else `view.board`
// booted in this process, with a note on stderr saying so (client/views.h).

int HeapsCommand(const ViewOptions& view);
int AllocCommand(const std::string& heap, const std::string& size, bool hold, bool json);
int BufinfoCommand(const ViewOptions& view);
int DumpCommand(pid_t pid, bool all, bool per_buffer, bool json);
// kmod's lsmod table; `proc_modules`: the /proc/modules text itself (as toybox's lsmod reads it).
int LsmodCommand(const ViewOptions& view, bool proc_modules);
// kmod's modinfo; `field`: only that field's values (-F); `nul`: NUL-terminated (-0).
int ModinfoCommand(const std::string& name, const ViewOptions& view, const std::string& field,
                   bool nul);
int CmaCommand(const ViewOptions& view, bool bitmap, const std::string& svg);
int BoardCommand(const std::string& name_or_path);
int DoctorCommand();
// Devices (device_commands.cc): with `board` non-empty, that board booted here; else the
// daemon's, else the default board's.
int DevicesCommand(const ViewOptions& view);
int AttachCommand(const std::string& board, const std::string& heap, const std::string& device,
                  const std::string& size, DmaDataDirection dir);
int AllocForCommand(const std::string& board, const std::string& devices, const std::string& size,
                    bool cpu_access, bool json);
// CMA sizing (replay_command.cc): exit 0 when the trace fits, 3 when an allocation fails.
struct ReplayOptions {
  std::string trace;  // a file, or "-" for stdin
  std::string board = "default";
  std::string area;   // "" = the trace's, or the board's only one
  std::string size;   // "" = the board's
  std::string svg;    // "" = none
  bool json = false;
};
int ReplayCommand(const ReplayOptions& options);
// The live view (top_command.cc): every second until `q`; `once`: one frame, plain.
int TopCommand(bool once);
// Daemon-only requests (stats, barrier, insmod, rmmod, modprobe).
int ControlCommand(ControlRequest request, const char* what, const std::string& arg = {});

}  // namespace dmaheap

#endif  // DMAHEAP_TOOLS_DMAHEAP_COMMANDS_H
