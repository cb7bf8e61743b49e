"""Finding Coral Edge TPUs: USB accelerators in sysfs, PCIe/M.2 modules in /dev, libedgetpu.

A USB Accelerator shows up as 1a6e:089a (Global Unichip, before libedgetpu loads its
firmware) and as 18d1:9302 (Google, once the firmware runs). PCIe and M.2 modules and the
Dev Board's SoM use the gasket/apex driver and appear as /dev/apex_N.
"""

from __future__ import annotations

import ctypes
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from camwatch.const import EDGETPU_LIBRARY, EDGETPU_PCIE_DEVICE, EDGETPU_USB_IDS

_LOGGER = logging.getLogger(__name__)

SYSFS_USB_DEVICES = Path("/sys/bus/usb/devices")
DEV_ROOT = Path("/dev")


@dataclass(frozen=True)
class UsbAccelerator:
    sysfs_name: str  # e.g. "2-1"
    usb_id: str  # "vendor:product", lower case hex
    busnum: int | None
    devnum: int | None

    @property
    def device_node(self) -> Path | None:
        """/dev/bus/usb/BBB/DDD, the node libedgetpu opens (needs the plugdev udev rule)."""
        if self.busnum is None or self.devnum is None:
            return None
        return DEV_ROOT / "bus" / "usb" / f"{self.busnum:03d}" / f"{self.devnum:03d}"

    @property
    def firmware_loaded(self) -> bool:
        return self.usb_id == "18d1:9302"


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return None


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def find_usb_accelerators(sysfs_root: Path = SYSFS_USB_DEVICES) -> list[UsbAccelerator]:
    """USB devices whose idVendor:idProduct is a Coral USB Accelerator."""
    found: list[UsbAccelerator] = []
    try:
        entries = sorted(sysfs_root.iterdir())
    except OSError:  # no USB bus (containers, some boards)
        return found
    for entry in entries:
        vendor = _read(entry / "idVendor")
        product = _read(entry / "idProduct")
        if vendor is None or product is None:
            continue
        usb_id = f"{vendor.lower()}:{product.lower()}"
        if usb_id in EDGETPU_USB_IDS:
            found.append(
                UsbAccelerator(entry.name, usb_id, _int(_read(entry / "busnum")), _int(_read(entry / "devnum")))
            )
    return found


def find_pcie_devices(dev_root: Path = DEV_ROOT) -> list[Path]:
    """/dev/apex_N nodes (PCIe/M.2 modules, Dev Board)."""
    pattern = EDGETPU_PCIE_DEVICE.name.rsplit("_", 1)[0] + "_*"
    try:
        return sorted(p for p in dev_root.glob(pattern) if p.name.split("_")[-1].isdigit())
    except OSError:
        return []


def device_accessible(node: Path) -> bool:
    """Whether this process may open ``node`` for reading and writing."""
    return os.access(node, os.R_OK | os.W_OK)


def libedgetpu_installed(library: str = EDGETPU_LIBRARY) -> tuple[bool, str]:
    """Whether the dynamic loader finds libedgetpu (without opening a device)."""
    try:
        ctypes.CDLL(library)
    except OSError as exc:
        return False, str(exc)
    return True, library


def open_delegate(device: str = "auto", runtime_name: str = "auto") -> tuple[bool, str]:
    """Really open the Edge TPU through the interpreter runtime's ``load_delegate``.

    The device must be free: a running camwatch already holds a USB accelerator.
    """
    from camwatch.detectors.runtime import (
        EdgeTpuUnavailable,
        RuntimeUnavailable,
        load_edgetpu_delegate,
        select_runtime,
    )

    try:
        runtime = select_runtime(runtime_name)
        delegate = load_edgetpu_delegate(runtime, device)
    except (EdgeTpuUnavailable, RuntimeUnavailable) as exc:
        return False, str(exc)
    del delegate
    return True, f"delegate opened via {runtime.name}"
