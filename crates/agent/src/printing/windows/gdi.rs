//! A printer device context: one GDI document of pages, text in a font, and bitmaps.
//! Blocking; used from the print task on the blocking pool.
#![allow(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

use std::collections::HashMap;
use std::ptr;

use windows_sys::Win32::Foundation::{GetLastError, LPARAM, SIZE};
use windows_sys::Win32::Graphics::Gdi::{
    CreateDCW, CreateFontIndirectW, DeleteDC, DeleteObject, EnumFontFamiliesExW, GetDeviceCaps,
    GetTextExtentPoint32W, SelectObject, SetBkMode, SetStretchBltMode, StretchDIBits, TextOutW,
    BITMAPINFO, BITMAPINFOHEADER, BI_RGB, DIB_RGB_COLORS, GB2312_CHARSET, HALFTONE, HDC, HFONT,
    HORZRES, LOGFONTW, LOGPIXELSX, LOGPIXELSY, PHYSICALHEIGHT, PHYSICALOFFSETX, PHYSICALOFFSETY,
    PHYSICALWIDTH, SRCCOPY, TEXTMETRICW, TRANSPARENT, VERTRES,
};
use windows_sys::Win32::Storage::Xps::{AbortDoc, EndDoc, EndPage, StartDocW, StartPage, DOCINFOW};

use super::spooler::DevMode;
use super::wide;
use crate::printing::windows_plan::{DeviceCaps, Rect};
use crate::printing::PrintError;

fn failed(call: &str) -> PrintError {
    // SAFETY: reads the calling thread's last-error value.
    let code = unsafe { GetLastError() };
    PrintError::Spooler(format!("{call} failed (Windows error {code})"))
}

/// A device context on a printer, with at most one document open; a document not
/// ended is aborted (nothing prints) when this is dropped.
#[derive(Debug)]
pub struct PrinterDc {
    dc: HDC,
    font: Option<HFONT>,
    widths: HashMap<char, f32>,
    in_document: bool,
}

impl PrinterDc {
    /// A DC for `printer` with the device mode `mode`.
    pub fn create(printer: &str, mode: &DevMode) -> Result<Self, PrintError> {
        let driver = wide("WINSPOOL");
        let device = wide(printer);
        // SAFETY: the strings are NUL-terminated and `mode` is a DEVMODEW validated by
        // the driver; all outlive the call.
        let dc = unsafe { CreateDCW(driver.as_ptr(), device.as_ptr(), ptr::null(), mode.as_ptr()) };
        if dc.is_null() {
            return Err(failed("CreateDCW"));
        }
        Ok(Self {
            dc,
            font: None,
            widths: HashMap::new(),
            in_document: false,
        })
    }

    /// The page geometry of the device (with the device mode applied).
    pub fn caps(&self) -> DeviceCaps {
        // SAFETY: `self.dc` is a live DC; GetDeviceCaps only reads it.
        let cap = |index: u32| unsafe { GetDeviceCaps(self.dc, index as i32) };
        DeviceCaps {
            dpi_x: cap(LOGPIXELSX).max(1),
            dpi_y: cap(LOGPIXELSY).max(1),
            paper_width: cap(PHYSICALWIDTH),
            paper_height: cap(PHYSICALHEIGHT),
            offset_x: cap(PHYSICALOFFSETX),
            offset_y: cap(PHYSICALOFFSETY),
            printable_width: cap(HORZRES),
            printable_height: cap(VERTRES),
        }
    }

    /// Font families the device offers for Simplified Chinese.
    pub fn chinese_faces(&self) -> Vec<String> {
        unsafe extern "system" fn collect(
            font: *const LOGFONTW,
            _metrics: *const TEXTMETRICW,
            _kind: u32,
            faces: LPARAM,
        ) -> i32 {
            // SAFETY: GDI passes a valid LOGFONTW, and `faces` is the Vec passed below,
            // alive and not otherwise borrowed during the enumeration.
            let (font, faces) = unsafe { (&*font, &mut *(faces as *mut Vec<String>)) };
            let name = super::from_wide(&font.lfFaceName);
            if !faces.contains(&name) {
                faces.push(name);
            }
            1
        }
        let mut faces: Vec<String> = Vec::new();
        let filter = LOGFONTW {
            lfCharSet: GB2312_CHARSET,
            ..empty_logfont()
        };
        // SAFETY: `filter` is a valid LOGFONTW; the callback only touches `faces`
        // through the LPARAM, which outlives the synchronous enumeration.
        unsafe {
            EnumFontFamiliesExW(
                self.dc,
                &filter,
                Some(collect),
                &mut faces as *mut Vec<String> as LPARAM,
                0,
            )
        };
        faces
    }

    /// Selects `face` at `height_px` (em height in device pixels) for text that follows.
    pub fn use_font(&mut self, face: Option<&str>, height_px: i32) -> Result<(), PrintError> {
        let mut font = LOGFONTW {
            lfHeight: -height_px,
            lfWeight: 400,
            // DEFAULT_CHARSET: let font linking fill gaps of the chosen face.
            lfCharSet: 1,
            ..empty_logfont()
        };
        if let Some(face) = face {
            let name: Vec<u16> = face.encode_utf16().take(31).collect();
            font.lfFaceName[..name.len()].copy_from_slice(&name);
        }
        // SAFETY: `font` is a valid LOGFONTW.
        let handle = unsafe { CreateFontIndirectW(&font) };
        if handle.is_null() {
            return Err(failed("CreateFontIndirectW"));
        }
        // SAFETY: both handles are live; the previous font (if ours) is released after
        // it is no longer selected.
        unsafe {
            SelectObject(self.dc, handle);
            SetBkMode(self.dc, TRANSPARENT as i32);
            if let Some(old) = self.font.replace(handle) {
                DeleteObject(old);
            }
        }
        self.widths.clear();
        Ok(())
    }

    /// The advance of `c` in the selected font, in device pixels (cached per font).
    pub fn char_width(&mut self, c: char) -> f32 {
        if let Some(width) = self.widths.get(&c) {
            return *width;
        }
        let mut units = [0u16; 2];
        let units = c.encode_utf16(&mut units);
        let mut size = SIZE { cx: 0, cy: 0 };
        // SAFETY: `units` holds `units.len()` UTF-16 units; `size` is a valid out pointer.
        unsafe { GetTextExtentPoint32W(self.dc, units.as_ptr(), units.len() as i32, &mut size) };
        let width = size.cx.max(0) as f32;
        self.widths.insert(c, width);
        width
    }

    /// Starts the document; returns the spooler's job id.
    pub fn start_document(&mut self, name: &str) -> Result<u32, PrintError> {
        let name = wide(name);
        let info = DOCINFOW {
            cbSize: std::mem::size_of::<DOCINFOW>() as i32,
            lpszDocName: name.as_ptr(),
            lpszOutput: ptr::null(),
            lpszDatatype: ptr::null(),
            fwType: 0,
        };
        // SAFETY: `info` and `name` outlive the call.
        let job = unsafe { StartDocW(self.dc, &info) };
        if job <= 0 {
            return Err(failed("StartDocW"));
        }
        self.in_document = true;
        Ok(job as u32)
    }

    pub fn start_page(&mut self) -> Result<(), PrintError> {
        // SAFETY: a document is open on this live DC.
        if unsafe { StartPage(self.dc) } <= 0 {
            return Err(failed("StartPage"));
        }
        // Some drivers reset the DC's objects on a new page: select the font again.
        if let Some(font) = self.font {
            // SAFETY: the font handle is live and owned by this DC wrapper.
            unsafe {
                SelectObject(self.dc, font);
                SetBkMode(self.dc, TRANSPARENT as i32);
            }
        }
        Ok(())
    }

    pub fn end_page(&mut self) -> Result<(), PrintError> {
        // SAFETY: a page is open on this live DC.
        if unsafe { EndPage(self.dc) } <= 0 {
            return Err(failed("EndPage"));
        }
        Ok(())
    }

    /// Ends the document: the spooler now prints it.
    pub fn end_document(&mut self) -> Result<(), PrintError> {
        self.in_document = false;
        // SAFETY: a document is open on this live DC.
        if unsafe { EndDoc(self.dc) } <= 0 {
            return Err(failed("EndDoc"));
        }
        Ok(())
    }

    /// Draws one line of text with its top-left corner at (`x`, `y`).
    pub fn text(&mut self, x: i32, y: i32, line: &str) {
        let units: Vec<u16> = line.encode_utf16().collect();
        // SAFETY: `units` is valid for its length.
        unsafe { TextOutW(self.dc, x, y, units.as_ptr(), units.len() as i32) };
    }

    /// Stretches a top-down 24-bit BGR bitmap (`width` x `height`, rows padded to 4
    /// bytes) onto `target`.
    pub fn bitmap(
        &mut self,
        target: &Rect,
        width: i32,
        height: i32,
        bgr: &[u8],
    ) -> Result<(), PrintError> {
        let stride = (width * 3 + 3) / 4 * 4;
        if bgr.len() < (stride * height) as usize {
            return Err(PrintError::Spooler("bitmap smaller than its size".into()));
        }
        let info = BITMAPINFO {
            bmiHeader: BITMAPINFOHEADER {
                biSize: std::mem::size_of::<BITMAPINFOHEADER>() as u32,
                biWidth: width,
                // Negative: rows run top-down.
                biHeight: -height,
                biPlanes: 1,
                biBitCount: 24,
                biCompression: BI_RGB,
                biSizeImage: 0,
                biXPelsPerMeter: 0,
                biYPelsPerMeter: 0,
                biClrUsed: 0,
                biClrImportant: 0,
            },
            bmiColors: [Default::default()],
        };
        // SAFETY: `bgr` holds `height` rows of `stride` bytes as `info` describes.
        let lines = unsafe {
            SetStretchBltMode(self.dc, HALFTONE);
            StretchDIBits(
                self.dc,
                target.left,
                target.top,
                target.width,
                target.height,
                0,
                0,
                width,
                height,
                bgr.as_ptr().cast(),
                &info,
                DIB_RGB_COLORS,
                SRCCOPY,
            )
        };
        if lines == 0 {
            return Err(failed("StretchDIBits"));
        }
        Ok(())
    }
}

impl Drop for PrinterDc {
    fn drop(&mut self) {
        // SAFETY: the DC and font are ours and released once; an unfinished document is
        // aborted first so the spooler discards it.
        unsafe {
            if self.in_document {
                AbortDoc(self.dc);
            }
            DeleteDC(self.dc);
            if let Some(font) = self.font {
                DeleteObject(font);
            }
        }
    }
}

fn empty_logfont() -> LOGFONTW {
    LOGFONTW {
        lfHeight: 0,
        lfWidth: 0,
        lfEscapement: 0,
        lfOrientation: 0,
        lfWeight: 0,
        lfItalic: 0,
        lfUnderline: 0,
        lfStrikeOut: 0,
        lfCharSet: 0,
        lfOutPrecision: 0,
        lfClipPrecision: 0,
        lfQuality: 0,
        lfPitchAndFamily: 0,
        lfFaceName: [0; 32],
    }
}
