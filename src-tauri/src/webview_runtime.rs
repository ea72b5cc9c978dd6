//! Whether this PC can show the window at all. On Windows the window's web view is the
//! Microsoft Edge WebView2 Runtime, which Windows 10 may lack (and Wine always does):
//! the tray process asks for it before starting the window process, and when it is
//! missing says so in a native message box (code `webview2_missing` in the log) while
//! printing goes on. macOS and Linux bring their web view with the app's dependencies.
//! Runs on the tray process' runtime; the message box waits on a blocking thread.

use crate::i18n::{Lang, Text};

/// The web view runtime the window needs is not installed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("webview2_missing: the Microsoft Edge WebView2 Runtime is not installed ({0})")]
pub struct MissingRuntime(pub String);

// Only Windows shows the message; the text is tested everywhere.
/// Where users and IT get the runtime (Microsoft's Evergreen bootstrapper).
#[cfg_attr(not(windows), allow(dead_code))]
pub const WEBVIEW2_DOWNLOAD: &str = "https://go.microsoft.com/fwlink/p/?LinkId=2124703";

/// `Ok` when the window can be shown; the runtime's version is logged at debug level.
pub fn check() -> Result<(), MissingRuntime> {
    #[cfg(windows)]
    {
        let version = windows::installed_version()?;
        tracing::debug!(%version, "WebView2 Runtime found");
    }
    Ok(())
}

/// The message box's text in `lang`.
#[cfg_attr(not(windows), allow(dead_code))]
pub fn missing_message(lang: Lang) -> String {
    format!(
        "{}\n\n{WEBVIEW2_DOWNLOAD}",
        lang.text(Text::WebView2Missing)
    )
}

/// Tells the user, without blocking the caller; a second call while a box is still
/// open shows no second box.
pub fn tell_missing(lang: Lang, missing: &MissingRuntime) {
    tracing::warn!(code = "webview2_missing", error = %missing, "cannot show the window");
    #[cfg(windows)]
    windows::show_message_once(missing_message(lang));
    #[cfg(not(windows))]
    let _ = lang;
}

#[cfg(windows)]
mod windows {
    //! The WebView2 loader's version query and a native message box.
    #![allow(unsafe_code)]
    #![deny(clippy::undocumented_unsafe_blocks)]

    use std::sync::atomic::{AtomicBool, Ordering};

    use windows_sys::Win32::System::Com::CoTaskMemFree;
    use windows_sys::Win32::System::LibraryLoader::{GetProcAddress, LoadLibraryW};
    use windows_sys::Win32::UI::WindowsAndMessaging::{
        MessageBoxW, MB_ICONWARNING, MB_OK, MB_SETFOREGROUND, MB_TOPMOST,
    };

    use super::MissingRuntime;

    /// `GetAvailableCoreWebView2BrowserVersionString(folder, &version) -> HRESULT`.
    type VersionQuery = unsafe extern "system" fn(*const u16, *mut *mut u16) -> i32;

    fn wide(text: &str) -> Vec<u16> {
        text.encode_utf16().chain(std::iter::once(0)).collect()
    }

    /// The installed runtime's version, asked of WebView2Loader.dll (shipped beside the
    /// executable) the way the web view itself will look for it.
    pub fn installed_version() -> Result<String, MissingRuntime> {
        let dll = wide("WebView2Loader.dll");
        // SAFETY: `dll` is NUL-terminated; the module stays loaded for the process (the
        // web view uses it too), so it is never freed.
        let module = unsafe { LoadLibraryW(dll.as_ptr()) };
        if module.is_null() {
            return Err(MissingRuntime("WebView2Loader.dll cannot be loaded".into()));
        }
        // SAFETY: `module` is loaded; the name is a NUL-terminated ANSI string.
        let query = unsafe {
            GetProcAddress(
                module,
                c"GetAvailableCoreWebView2BrowserVersionString"
                    .as_ptr()
                    .cast(),
            )
        };
        let Some(query) = query else {
            return Err(MissingRuntime(
                "WebView2Loader.dll has no version query".into(),
            ));
        };
        // SAFETY: the export has exactly this signature (WebView2.h).
        let query: VersionQuery = unsafe { std::mem::transmute(query) };
        let mut version: *mut u16 = std::ptr::null_mut();
        // SAFETY: a null folder means "the installed Evergreen runtime"; `version` is a
        // valid out pointer.
        let result = unsafe { query(std::ptr::null(), &mut version) };
        if result < 0 || version.is_null() {
            return Err(MissingRuntime(format!("HRESULT {:#010x}", result as u32)));
        }
        // SAFETY: on success `version` is a NUL-terminated string the loader allocated.
        let length = (0..)
            .take_while(|&i| unsafe { *version.add(i) } != 0)
            .count();
        // SAFETY: `length` units were just read; the string is freed once, as documented.
        let text = String::from_utf16_lossy(unsafe { std::slice::from_raw_parts(version, length) });
        // SAFETY: allocated by the loader with CoTaskMemAlloc, freed once.
        unsafe { CoTaskMemFree(version.cast()) };
        Ok(text)
    }

    /// Shows `message` in a warning box on a thread of its own, unless one is open.
    pub fn show_message_once(message: String) {
        static OPEN: AtomicBool = AtomicBool::new(false);
        if OPEN.swap(true, Ordering::SeqCst) {
            return;
        }
        std::thread::spawn(move || {
            let (text, title) = (wide(&message), wide("PrintRelay"));
            // SAFETY: both strings are NUL-terminated and outlive the modal call; no owner
            // window (the tray process has none to show).
            unsafe {
                MessageBoxW(
                    std::ptr::null_mut(),
                    text.as_ptr(),
                    title.as_ptr(),
                    MB_OK | MB_ICONWARNING | MB_SETFOREGROUND | MB_TOPMOST,
                )
            };
            OPEN.store(false, Ordering::SeqCst);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_names_the_runtime_says_printing_goes_on_and_where_to_get_it() {
        let en = missing_message(Lang::En);
        assert!(en.contains("Microsoft Edge WebView2 Runtime"), "{en}");
        assert!(en.contains("Printing"), "{en}");
        assert!(en.ends_with(WEBVIEW2_DOWNLOAD), "{en}");
        let zh = missing_message(Lang::ZhCn);
        assert!(zh.contains("WebView2"), "{zh}");
        assert!(zh.contains("打印"), "{zh}");
    }
}
