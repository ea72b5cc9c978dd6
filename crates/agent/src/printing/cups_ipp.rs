//! What the `printers` crate lacks of CUPS: the state of one job by id
//! (Get-Job-Attributes; the crate can only list a queue's whole history, hundreds of jobs
//! read field by field and never freed), a queue's default media, and why the last
//! request failed.
//! Blocking FFI into libcups, like the rest of `printing/`.
#![allow(unsafe_code)]

use std::collections::HashSet;
use std::ffi::{c_char, c_int, c_void, CStr, CString};

/// What CUPS says of one job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CupsJobState {
    /// Pending, processing or stopped: not finished yet.
    Active,
    /// Held: not printed and not printing. A job whose document never arrived (its
    /// sender died between Create-Job and Send-Document: `job-incoming`) stays so.
    Held,
    Completed,
    /// Cancelled by a person or a program.
    Canceled,
    /// Ended by an error (a filter or the backend failed).
    Aborted,
    /// CUPS does not know the job (any more).
    Unknown,
    /// CUPS did not answer (not running, restarting): ask again later.
    NoAnswer,
}

impl CupsJobState {
    /// From IPP's `job-state` enum (RFC 8011 5.3.7).
    fn from_ipp(value: c_int) -> Self {
        match value {
            4 => Self::Held,
            3 | 5 | 6 => Self::Active,
            7 => Self::Canceled,
            8 => Self::Aborted,
            9 => Self::Completed,
            _ => Self::Unknown,
        }
    }
}

const IPP_OP_GET_JOB_ATTRIBUTES: c_int = 0x0009;
const IPP_OP_GET_JOBS: c_int = 0x000A;
const IPP_OP_GET_PRINTER_ATTRIBUTES: c_int = 0x000B;
/// Any value tag, in `ippFindAttribute`.
const IPP_TAG_ZERO: c_int = 0x00;
const IPP_TAG_OPERATION: c_int = 0x01;
const IPP_TAG_INTEGER: c_int = 0x21;
const IPP_TAG_ENUM: c_int = 0x23;
const IPP_TAG_KEYWORD: c_int = 0x44;
const IPP_TAG_URI: c_int = 0x45;
/// `successful-ok-ignored-or-substituted-attributes` and below are answers.
const IPP_STATUS_OK_MAX: c_int = 0x00ff;
const IPP_STATUS_ERROR_NOT_FOUND: c_int = 0x0406;

#[link(name = "cups")]
unsafe extern "C" {
    fn ippNewRequest(op: c_int) -> *mut c_void;
    fn ippAddString(
        ipp: *mut c_void,
        group: c_int,
        value_tag: c_int,
        name: *const c_char,
        language: *const c_char,
        value: *const c_char,
    ) -> *mut c_void;
    fn ippAddInteger(
        ipp: *mut c_void,
        group: c_int,
        value_tag: c_int,
        name: *const c_char,
        value: c_int,
    ) -> *mut c_void;
    /// Sends `request` (and frees it) over the default connection; the response or null.
    fn cupsDoRequest(
        http: *mut c_void,
        request: *mut c_void,
        resource: *const c_char,
    ) -> *mut c_void;
    fn ippGetStatusCode(ipp: *mut c_void) -> c_int;
    fn ippFindAttribute(ipp: *mut c_void, name: *const c_char, value_tag: c_int) -> *mut c_void;
    fn ippFindNextAttribute(ipp: *mut c_void, name: *const c_char, value_tag: c_int)
        -> *mut c_void;
    fn ippGetInteger(attr: *mut c_void, element: c_int) -> c_int;
    fn ippGetString(
        attr: *mut c_void,
        element: c_int,
        language: *mut *const c_char,
    ) -> *const c_char;
    fn ippDelete(ipp: *mut c_void);
    fn cupsLastError() -> c_int;
}

/// True when the last libcups request of this thread failed because CUPS cannot take a
/// job now but may later: too many jobs queued, busy, or a temporary error. Call it
/// right after the failed call, on the same thread.
pub fn last_error_is_temporary() -> bool {
    // IPP status codes: client-error-not-possible (what cupsd answers "Too many active
    // jobs." with, at its MaxJobs, and for per-printer and per-user job limits and quotas),
    // service-unavailable, temporary-error, busy, too-many-jobs.
    const TEMPORARY: [c_int; 5] = [0x0404, 0x0502, 0x0505, 0x0507, 0x050B];
    // SAFETY: reads libcups' per-thread status of its last request; no arguments.
    TEMPORARY.contains(&unsafe { cupsLastError() })
}

/// Asks the local CUPS server for the state of job `job_id` on queue `printer`.
pub fn job_state(printer: &str, job_id: u64) -> CupsJobState {
    let Ok(job_id) = c_int::try_from(job_id) else {
        return CupsJobState::Unknown;
    };
    // SAFETY: the request goes to `send`, which frees it; the response is freed once
    // here after its one attribute was read.
    unsafe {
        let request = printer_request(IPP_OP_GET_JOB_ATTRIBUTES, printer);
        if !request.is_null() {
            ippAddInteger(
                request,
                IPP_TAG_OPERATION,
                IPP_TAG_INTEGER,
                c"job-id".as_ptr(),
                job_id,
            );
            add_keyword(request, c"requested-attributes", c"job-state");
        }
        let response = send(request);
        if response.is_null() {
            return CupsJobState::NoAnswer;
        }
        let status = ippGetStatusCode(response);
        let attribute = ippFindAttribute(response, c"job-state".as_ptr(), IPP_TAG_ENUM);
        let state = if status == IPP_STATUS_ERROR_NOT_FOUND {
            CupsJobState::Unknown
        } else if status > IPP_STATUS_OK_MAX || attribute.is_null() {
            CupsJobState::NoAnswer
        } else {
            CupsJobState::from_ipp(ippGetInteger(attribute, 0))
        };
        ippDelete(response);
        state
    }
}

/// The ids of the jobs on `printer` that CUPS has not finished (pending, held,
/// processing, stopped); `None` when CUPS did not answer. One request for the whole
/// queue, asking for nothing but the ids.
pub fn active_job_ids(printer: &str) -> Option<HashSet<u64>> {
    // SAFETY: as in `job_state`.
    unsafe {
        let request = printer_request(IPP_OP_GET_JOBS, printer);
        if !request.is_null() {
            add_keyword(request, c"which-jobs", c"not-completed");
            add_keyword(request, c"requested-attributes", c"job-id");
        }
        let response = send(request);
        if response.is_null() {
            return None;
        }
        let answered = ippGetStatusCode(response) <= IPP_STATUS_OK_MAX;
        let mut ids = HashSet::new();
        let mut attribute = ippFindAttribute(response, c"job-id".as_ptr(), IPP_TAG_INTEGER);
        while !attribute.is_null() {
            if let Ok(id) = u64::try_from(ippGetInteger(attribute, 0)) {
                ids.insert(id);
            }
            attribute = ippFindNextAttribute(response, c"job-id".as_ptr(), IPP_TAG_INTEGER);
        }
        ippDelete(response);
        answered.then_some(ids)
    }
}

/// The queue's default media (`media-default`, a PWG name such as
/// `iso_a4_210x297mm`), if it has one.
pub fn media_default(printer: &str) -> Option<String> {
    // SAFETY: as in `job_state`; the string is copied before the response is freed.
    unsafe {
        let request = printer_request(IPP_OP_GET_PRINTER_ATTRIBUTES, printer);
        if !request.is_null() {
            add_keyword(request, c"requested-attributes", c"media-default");
        }
        let response = send(request);
        if response.is_null() {
            return None;
        }
        let attribute = ippFindAttribute(response, c"media-default".as_ptr(), IPP_TAG_ZERO);
        let value = if ippGetStatusCode(response) > IPP_STATUS_OK_MAX || attribute.is_null() {
            None
        } else {
            let text = ippGetString(attribute, 0, std::ptr::null_mut());
            (!text.is_null()).then(|| CStr::from_ptr(text).to_string_lossy().into_owned())
        };
        ippDelete(response);
        value
    }
}

/// A new request for operation `op` on queue `printer`; null if libcups made none.
///
/// # Safety
/// Hand the request to [`send`], which frees it.
unsafe fn printer_request(op: c_int, printer: &str) -> *mut c_void {
    let Ok(uri) = CString::new(format!("ipp://localhost/printers/{}", uri_path(printer))) else {
        return std::ptr::null_mut();
    };
    // SAFETY: libcups copies the strings it is given.
    unsafe {
        let request = ippNewRequest(op);
        if !request.is_null() {
            ippAddString(
                request,
                IPP_TAG_OPERATION,
                IPP_TAG_URI,
                c"printer-uri".as_ptr(),
                std::ptr::null(),
                uri.as_ptr(),
            );
        }
        request
    }
}

/// Adds the operation attribute `name` with the keyword `value`.
///
/// # Safety
/// `request` is a live request from [`printer_request`].
unsafe fn add_keyword(request: *mut c_void, name: &CStr, value: &CStr) {
    // SAFETY: see the function's contract; libcups copies both strings.
    unsafe {
        ippAddString(
            request,
            IPP_TAG_OPERATION,
            IPP_TAG_KEYWORD,
            name.as_ptr(),
            std::ptr::null(),
            value.as_ptr(),
        );
    }
}

/// Sends `request` (libcups frees it) to the local CUPS server; the response, or null
/// when there is none (or no request).
///
/// # Safety
/// `request` is null or a live request; free a non-null response with `ippDelete`.
unsafe fn send(request: *mut c_void) -> *mut c_void {
    if request.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: see the function's contract.
    unsafe { cupsDoRequest(std::ptr::null_mut(), request, c"/".as_ptr()) }
}

/// A queue name as a URI path segment (CUPS names may hold characters a URI may not).
fn uri_path(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipp_job_states_map_to_finished_or_not() {
        let states: Vec<_> = (2..=10).map(CupsJobState::from_ipp).collect();
        use CupsJobState::*;
        assert_eq!(
            states,
            [Unknown, Active, Held, Active, Active, Canceled, Aborted, Completed, Unknown]
        );
    }

    #[test]
    fn queue_names_are_escaped_in_the_uri() {
        assert_eq!(uri_path("Office_Laser-2"), "Office_Laser-2");
        assert_eq!(uri_path("a b/é"), "a%20b%2F%C3%A9");
    }
}
