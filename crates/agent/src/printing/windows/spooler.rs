//! winspool calls: the printer list, the default printer, raw jobs, device modes, and the spooler's
//! view of a job. Every function blocks; callers are on the blocking pool.
#![allow(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

use std::ptr;

use windows_sys::Win32::Foundation::GetLastError;
use windows_sys::Win32::Graphics::Gdi::{
    DEVMODEW, DMCOLLATE_TRUE, DM_COLLATE, DM_COPIES, DM_DUPLEX, DM_ORIENTATION, DM_PAPERLENGTH,
    DM_PAPERSIZE, DM_PAPERWIDTH,
};
use windows_sys::Win32::Graphics::Printing::{
    ClosePrinter, DocumentPropertiesW, EndDocPrinter, EndPagePrinter, EnumJobsW, EnumPrintersW,
    GetDefaultPrinterW, GetJobW, OpenPrinterW, SetJobW, StartDocPrinterW, StartPagePrinter,
    WritePrinter, DOC_INFO_1W, JOB_CONTROL_DELETE, JOB_INFO_1W, PRINTER_ENUM_CONNECTIONS,
    PRINTER_ENUM_LOCAL, PRINTER_HANDLE, PRINTER_INFO_2W,
};
use windows_sys::Win32::Storage::Xps::{DeviceCapabilitiesW, DC_COPIES};

use super::wide;
use crate::printing::windows_plan::{DeviceSettings, Paper};
use crate::printing::PrintError;

/// `DM_IN_BUFFER` / `DM_OUT_BUFFER` of `DocumentPropertiesW`.
const DM_IN_BUFFER: u32 = 8;
const DM_OUT_BUFFER: u32 = 2;

fn last_error(call: &str) -> PrintError {
    // SAFETY: reads the calling thread's last-error value; no memory is touched.
    let code = unsafe { GetLastError() };
    PrintError::Spooler(format!("{call} failed (Windows error {code})"))
}

/// An open printer, closed when dropped.
pub struct Printer {
    handle: PRINTER_HANDLE,
    name: Vec<u16>,
}

impl Printer {
    /// Opens `name` for printing and job queries.
    pub fn open(name: &str) -> Result<Self, PrintError> {
        let wide_name = wide(name);
        let mut handle = PRINTER_HANDLE::default();
        // SAFETY: `wide_name` is NUL-terminated and outlives the call; `handle` is a valid
        // out pointer; a null PRINTER_DEFAULTS asks for the default access.
        let ok = unsafe { OpenPrinterW(wide_name.as_ptr(), &mut handle, ptr::null()) };
        if ok == 0 {
            return Err(PrintError::PrinterNotFound(name.to_owned()));
        }
        Ok(Self {
            handle,
            name: wide_name,
        })
    }

    /// Sends `bytes` untouched (datatype RAW) as one job, `copies` times in a row:
    /// winspool applies no copy count to raw data. Returns the spooler's job id.
    pub fn write_raw(
        &self,
        document_name: &str,
        bytes: &[u8],
        copies: u32,
    ) -> Result<u32, PrintError> {
        let mut doc_name = wide(document_name);
        let mut datatype = wide("RAW");
        let info = DOC_INFO_1W {
            pDocName: doc_name.as_mut_ptr(),
            pOutputFile: ptr::null_mut(),
            pDatatype: datatype.as_mut_ptr(),
        };
        // SAFETY: `info` and the strings it points to live until the call returns.
        let job = unsafe { StartDocPrinterW(self.handle, 1, &info) };
        if job == 0 {
            return Err(last_error("StartDocPrinterW"));
        }
        let written = (0..copies.max(1)).try_for_each(|_| self.write_page(bytes));
        // SAFETY: ends the document started above on the same open handle.
        let ended = unsafe { EndDocPrinter(self.handle) };
        written?;
        if ended == 0 {
            return Err(last_error("EndDocPrinter"));
        }
        Ok(job)
    }

    fn write_page(&self, mut bytes: &[u8]) -> Result<(), PrintError> {
        // SAFETY: a document is open on this handle (write_raw started it).
        if unsafe { StartPagePrinter(self.handle) } == 0 {
            return Err(last_error("StartPagePrinter"));
        }
        while !bytes.is_empty() {
            let chunk = &bytes[..bytes.len().min(1 << 20)];
            let mut done = 0u32;
            // SAFETY: `chunk` is valid for `chunk.len()` bytes (at most 1 MiB, fits u32);
            // `done` is a valid out pointer.
            let ok = unsafe {
                WritePrinter(
                    self.handle,
                    chunk.as_ptr().cast(),
                    chunk.len() as u32,
                    &mut done,
                )
            };
            if ok == 0 || done == 0 {
                // SAFETY: closes the page opened above.
                unsafe { EndPagePrinter(self.handle) };
                return Err(last_error("WritePrinter"));
            }
            bytes = &bytes[done as usize..];
        }
        // SAFETY: closes the page opened above.
        if unsafe { EndPagePrinter(self.handle) } == 0 {
            return Err(last_error("EndPagePrinter"));
        }
        Ok(())
    }

    /// The status bits of job `id` (`JOB_INFO_1::Status`), or `None` when the spooler
    /// no longer lists it.
    pub fn job_status(&self, id: u32) -> Option<u32> {
        let buffer = self.query(|buf, size, needed| {
            // SAFETY: `buf` is valid for `size` bytes (or null with size 0); `needed` is
            // a valid out pointer.
            unsafe { GetJobW(self.handle, id, 1, buf, size, needed) }
        })?;
        // SAFETY: on success the buffer starts with a JOB_INFO_1W, and `query` returns
        // 8-byte-aligned storage.
        let info = unsafe { &*buffer.as_ptr().cast::<JOB_INFO_1W>() };
        Some(info.Status)
    }

    /// The id of a job the spooler lists under `document_name`.
    pub fn find_job(&self, document_name: &str) -> Option<u32> {
        let mut count = 0u32;
        let buffer = self.query(|buf, size, needed| {
            // SAFETY: as in `job_status`; `count` is a valid out pointer.
            unsafe { EnumJobsW(self.handle, 0, u32::MAX, 1, buf, size, needed, &mut count) }
        })?;
        // SAFETY: on success the buffer holds `count` JOB_INFO_1W records, aligned.
        let jobs = unsafe {
            std::slice::from_raw_parts(buffer.as_ptr().cast::<JOB_INFO_1W>(), count as usize)
        };
        jobs.iter()
            .find(|job| from_wide_ptr(job.pDocument) == document_name)
            .map(|job| job.JobId)
    }

    /// Deletes job `id` from the queue (cancelling it).
    pub fn cancel(&self, id: u32) -> Result<(), PrintError> {
        // SAFETY: level 0 with a null info pointer is how a control command is sent.
        if unsafe { SetJobW(self.handle, id, 0, ptr::null(), JOB_CONTROL_DELETE) } == 0 {
            return Err(last_error("SetJobW"));
        }
        Ok(())
    }

    /// The printer's default device mode with `settings` merged in and validated by the
    /// driver, as bytes (the DEVMODEW plus the driver's private part).
    pub fn device_mode(&self, settings: &DeviceSettings) -> Result<DevMode, PrintError> {
        // SAFETY: with null buffers and mode 0 the call returns the size needed.
        let size = unsafe {
            DocumentPropertiesW(
                ptr::null_mut(),
                self.handle,
                self.name.as_ptr(),
                ptr::null_mut(),
                ptr::null(),
                0,
            )
        };
        if size < std::mem::size_of::<DEVMODEW>() as i32 {
            return Err(last_error("DocumentPropertiesW"));
        }
        let mut mode = DevMode(vec![0u64; (size as usize).div_ceil(8)]);
        let out = mode.as_mut_ptr();
        // SAFETY: `out` points to `size` writable, 8-byte-aligned bytes.
        if unsafe {
            DocumentPropertiesW(
                ptr::null_mut(),
                self.handle,
                self.name.as_ptr(),
                out,
                ptr::null(),
                DM_OUT_BUFFER,
            )
        } < 0
        {
            return Err(last_error("DocumentPropertiesW"));
        }
        // SAFETY: the buffer holds the DEVMODEW the driver just wrote.
        apply(unsafe { &mut *out }, settings);
        // SAFETY: input and output are the same valid buffer, which the API allows.
        if unsafe {
            DocumentPropertiesW(
                ptr::null_mut(),
                self.handle,
                self.name.as_ptr(),
                out,
                out,
                DM_IN_BUFFER | DM_OUT_BUFFER,
            )
        } < 0
        {
            return Err(last_error("DocumentPropertiesW"));
        }
        Ok(mode)
    }

    /// Runs a two-call winspool query about this printer.
    fn query(&self, call: impl FnMut(*mut u8, u32, &mut u32) -> i32) -> Option<Vec<u64>> {
        query(call)
    }
}

/// Runs a two-call winspool query (size, then data) into aligned storage; `None` when
/// there is nothing to read or the second call fails.
fn query(mut call: impl FnMut(*mut u8, u32, &mut u32) -> i32) -> Option<Vec<u64>> {
    let mut needed = 0u32;
    call(ptr::null_mut(), 0, &mut needed);
    if needed == 0 {
        return None;
    }
    let mut buffer = vec![0u64; (needed as usize).div_ceil(8)];
    let size = (buffer.len() * 8) as u32;
    (call(buffer.as_mut_ptr().cast(), size, &mut needed) != 0).then_some(buffer)
}

/// A printer as the spooler lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedPrinter {
    /// The name programs open it by (local, or `\\server\share` for a connection).
    pub name: String,
    /// `PRINTER_INFO_2::Status` bits.
    pub status: u32,
}

/// The user's local printers and printer connections. A PC with none is an empty list:
/// the `printers` crate builds a slice from a null pointer there, which aborts a debug
/// build and is undefined behaviour in a release build.
pub fn list_printers() -> Vec<ListedPrinter> {
    let mut count = 0u32;
    let buffer = query(|buf, size, needed| {
        // SAFETY: `buf` is valid for `size` bytes (or null with size 0); `needed` and
        // `count` are valid out pointers; a null name means this machine.
        unsafe {
            EnumPrintersW(
                PRINTER_ENUM_LOCAL | PRINTER_ENUM_CONNECTIONS,
                ptr::null(),
                2,
                buf,
                size,
                needed,
                &mut count,
            )
        }
    });
    let Some(buffer) = buffer else {
        return Vec::new();
    };
    if count == 0 {
        return Vec::new();
    }
    // SAFETY: on success the buffer starts with `count` PRINTER_INFO_2W records, and
    // `query` returns 8-byte-aligned, non-null storage.
    let printers = unsafe {
        std::slice::from_raw_parts(buffer.as_ptr().cast::<PRINTER_INFO_2W>(), count as usize)
    };
    printers
        .iter()
        .map(|p| ListedPrinter {
            name: from_wide_ptr(p.pPrinterName),
            status: p.Status,
        })
        .filter(|p| !p.name.is_empty())
        .collect()
}

impl std::fmt::Debug for Printer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Printer")
            .field("name", &String::from_utf16_lossy(&self.name))
            .finish_non_exhaustive()
    }
}

impl Drop for Printer {
    fn drop(&mut self) {
        // SAFETY: the handle came from OpenPrinterW and is closed exactly once.
        unsafe { ClosePrinter(self.handle) };
    }
}

/// A device mode buffer (DEVMODEW followed by driver data), 8-byte aligned.
#[derive(Debug)]
pub struct DevMode(Vec<u64>);

impl DevMode {
    pub fn as_ptr(&self) -> *const DEVMODEW {
        self.0.as_ptr().cast()
    }

    fn as_mut_ptr(&mut self) -> *mut DEVMODEW {
        self.0.as_mut_ptr().cast()
    }
}

fn apply(mode: &mut DEVMODEW, settings: &DeviceSettings) {
    // SAFETY: for printers the first union variant (orientation, paper, copies...) is
    // the one in use; both variants are plain integers, so any bits are valid.
    let fields = unsafe { &mut mode.Anonymous1.Anonymous1 };
    if let Some(copies) = settings.copies {
        fields.dmCopies = copies;
        mode.dmCollate = DMCOLLATE_TRUE;
        mode.dmFields |= DM_COPIES | DM_COLLATE;
    }
    if let Some(orientation) = settings.orientation {
        fields.dmOrientation = orientation;
        mode.dmFields |= DM_ORIENTATION;
    }
    match settings.paper {
        Some(Paper::Standard(id)) => {
            fields.dmPaperSize = id;
            mode.dmFields |= DM_PAPERSIZE;
            mode.dmFields &= !(DM_PAPERLENGTH | DM_PAPERWIDTH);
        }
        Some(Paper::Custom { width, length }) => {
            // DMPAPER_USER: the size is given by width and length.
            fields.dmPaperSize = 256;
            fields.dmPaperWidth = width;
            fields.dmPaperLength = length;
            mode.dmFields |= DM_PAPERSIZE | DM_PAPERWIDTH | DM_PAPERLENGTH;
        }
        None => {}
    }
    if let Some(duplex) = settings.duplex {
        mode.dmDuplex = duplex;
        mode.dmFields |= DM_DUPLEX;
    }
}

/// How many copies the driver makes itself (`DC_COPIES`); 1 when it does not say.
pub fn driver_copies(printer: &str) -> u32 {
    let name = wide(printer);
    // SAFETY: `name` is NUL-terminated; DC_COPIES writes nothing to the null output.
    let max = unsafe {
        DeviceCapabilitiesW(
            name.as_ptr(),
            ptr::null(),
            DC_COPIES,
            ptr::null_mut(),
            ptr::null(),
        )
    };
    u32::try_from(max).unwrap_or(1).max(1)
}

/// The user's default printer, by the OS call (the `printers` crate compares only the
/// first character of names).
pub fn default_printer() -> Option<String> {
    let mut size = 0u32;
    // SAFETY: a null buffer with size 0 asks for the size needed, in characters.
    unsafe { GetDefaultPrinterW(ptr::null_mut(), &mut size) };
    if size == 0 {
        return None;
    }
    let mut buffer = vec![0u16; size as usize];
    // SAFETY: `buffer` holds `size` characters.
    if unsafe { GetDefaultPrinterW(buffer.as_mut_ptr(), &mut size) } == 0 {
        return None;
    }
    let end = buffer.iter().position(|&c| c == 0).unwrap_or(buffer.len());
    Some(String::from_utf16_lossy(&buffer[..end]))
}

/// The text of a NUL-terminated UTF-16 string the spooler returned.
fn from_wide_ptr(text: *const u16) -> String {
    if text.is_null() {
        return String::new();
    }
    // SAFETY: winspool strings are NUL-terminated and live in the buffer being read.
    let length = (0..).take_while(|&i| unsafe { *text.add(i) } != 0).count();
    // SAFETY: `length` units before the NUL were just read.
    String::from_utf16_lossy(unsafe { std::slice::from_raw_parts(text, length) })
}
