//! The job's page in WebView2 (Windows): served from memory under its address, every
//! other request refused (`data:` URIs are not requests and keep working), loaded,
//! awaited and measured by the ready script, then printed with WebView2's `PrintToPdf`
//! on the job's paper into a temporary file. Runs on the main thread, where WebView2
//! calls every handler; any step's failure ends the process through `app::finish`.

#![allow(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

use std::cell::Cell;
use std::path::Path;
use std::rc::Rc;

use tauri::webview::PlatformWebview;
use tauri::{AppHandle, Wry};
use webview2_com::Microsoft::Web::WebView2::Win32::{
    ICoreWebView2, ICoreWebView2Environment, ICoreWebView2Environment6,
    ICoreWebView2NavigationCompletedEventArgs, ICoreWebView2NavigationStartingEventArgs,
    ICoreWebView2ProcessFailedEventArgs, ICoreWebView2WebResourceRequestedEventArgs,
    ICoreWebView2_22, ICoreWebView2_7, COREWEBVIEW2_PRINT_ORIENTATION_PORTRAIT,
    COREWEBVIEW2_PROCESS_FAILED_KIND, COREWEBVIEW2_PROCESS_FAILED_KIND_BROWSER_PROCESS_EXITED,
    COREWEBVIEW2_PROCESS_FAILED_KIND_RENDER_PROCESS_EXITED, COREWEBVIEW2_WEB_ERROR_STATUS,
    COREWEBVIEW2_WEB_RESOURCE_CONTEXT_ALL, COREWEBVIEW2_WEB_RESOURCE_REQUEST_SOURCE_KINDS_ALL,
};
use webview2_com::{
    take_pwstr, DocumentTitleChangedEventHandler, EventClosure, ExecuteScriptCompletedHandler,
    NavigationCompletedEventHandler, NavigationStartingEventHandler, PrintToPdfCompletedHandler,
    ProcessFailedEventHandler, WebResourceRequestedEventHandler,
};
use windows::core::{Interface, BOOL, HSTRING, PWSTR};
use windows::Win32::Foundation::E_OUTOFMEMORY;
use windows::Win32::System::Com::IStream;
use windows::Win32::UI::Shell::SHCreateMemStream;

use super::app::{com, finish, Failure};
use super::{
    answered_by_tauri, is_document, parse_ready_title, pdf_path, Job, PrintSettings, READY_SCRIPT,
};

/// The page's own response: no caching, so no later job is answered from this one.
const DOCUMENT_HEADERS: &str = "Content-Type: text/html; charset=utf-8\r\nCache-Control: no-store";

/// Where the render is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Waiting for the page's navigation to complete.
    Loading,
    /// The ready script runs; its title is awaited.
    Measuring,
    /// `PrintToPdf` runs.
    Printing,
}

/// One page being rendered; shared by the web view's handlers (all on the main thread).
struct Page {
    app: AppHandle<Wry>,
    webview: ICoreWebView2,
    environment: ICoreWebView2Environment,
    job: Job,
    /// The navigation to the page, once WebView2 started it.
    navigation: Cell<Option<u64>>,
    stage: Cell<Stage>,
}

/// Takes over the web view Tauri made: hooks its requests and events and opens the page.
pub fn start(webview: &PlatformWebview, job: Job, app: AppHandle<Wry>) {
    let controller = webview.controller();
    let environment = webview.environment();
    // SAFETY: `controller` is the live controller of the window Tauri just made; this
    // runs on the main thread that owns it.
    let core = unsafe { controller.CoreWebView2() }.map_err(com("reach the web view"));
    let begun = core.and_then(|core| {
        // The page must count as shown: a hidden page draws no frames, which the
        // ready script awaits (it would fall back on its timer). The window stays hidden.
        // SAFETY: as above.
        unsafe { controller.SetIsVisible(true) }.map_err(com("lay the page out"))?;
        let page = Rc::new(Page {
            app: app.clone(),
            webview: core,
            environment,
            job,
            navigation: Cell::new(None),
            stage: Cell::new(Stage::Loading),
        });
        page.begin()
    });
    if let Err(failure) = begun {
        finish(&app, Err(failure));
    }
}

impl Page {
    /// Registers the handlers, then navigates to the page.
    fn begin(self: &Rc<Self>) -> Result<(), Failure> {
        let core = &self.webview;
        let everything = HSTRING::from("*");
        let mut token = 0i64;
        // SAFETY: `core` is live and used on its own thread; the strings outlive the
        // calls; each handler is a COM object that WebView2 keeps (and releases) itself.
        unsafe {
            // `alert()` and `confirm()` return at once instead of waiting for a click.
            core.Settings()
                .and_then(|settings| settings.SetAreDefaultScriptDialogsEnabled(false))
                .map_err(com("turn script dialogs off"))?;
            // Runtimes since 2022 also show workers' requests (filter with source kinds).
            match core.cast::<ICoreWebView2_22>() {
                Ok(core) => core.AddWebResourceRequestedFilterWithRequestSourceKinds(
                    &everything,
                    COREWEBVIEW2_WEB_RESOURCE_CONTEXT_ALL,
                    COREWEBVIEW2_WEB_RESOURCE_REQUEST_SOURCE_KINDS_ALL,
                ),
                Err(_) => core.AddWebResourceRequestedFilter(
                    &everything,
                    COREWEBVIEW2_WEB_RESOURCE_CONTEXT_ALL,
                ),
            }
            .map_err(com("watch the page's requests"))?;
            let handler = WebResourceRequestedEventHandler::create(self.on(Page::answer));
            core.add_WebResourceRequested(&handler, &mut token)
                .map_err(com("answer the page's requests"))?;
            let handler =
                NavigationStartingEventHandler::create(self.on(Page::navigation_starting));
            core.add_NavigationStarting(&handler, &mut token)
                .map_err(com("follow the navigation"))?;
            let handler = NavigationCompletedEventHandler::create(self.on(Page::loaded));
            core.add_NavigationCompleted(&handler, &mut token)
                .map_err(com("follow the navigation"))?;
            let page = Rc::clone(self);
            let handler = DocumentTitleChangedEventHandler::create(Box::new(move |_, _| {
                page.guard(page.title_changed());
                Ok(())
            }));
            core.add_DocumentTitleChanged(&handler, &mut token)
                .map_err(com("follow the page's title"))?;
            let handler = ProcessFailedEventHandler::create(self.on(Page::process_failed));
            core.add_ProcessFailed(&handler, &mut token)
                .map_err(com("watch the page's renderer"))?;
            core.Navigate(&HSTRING::from(self.job.address.as_str()))
                .map_err(com("open the page"))?;
        }
        Ok(())
    }

    /// An event handler that runs `step` on the event's arguments.
    fn on<A: Interface + 'static>(
        self: &Rc<Self>,
        step: fn(&Rc<Page>, &A) -> Result<(), Failure>,
    ) -> EventClosure<Option<ICoreWebView2>, Option<A>> {
        let page = Rc::clone(self);
        Box::new(move |_, args| {
            if let Some(args) = args {
                page.guard(step(&page, &args));
            }
            // Our failures end the render; WebView2 has nothing to do with them.
            Ok(())
        })
    }

    /// Ends the render on a handler's failure.
    fn guard(&self, result: Result<(), Failure>) {
        if let Err(failure) = result {
            finish(&self.app, Err(failure));
        }
    }

    /// Answers a request: the page from memory, anything else 403.
    fn answer(
        self: &Rc<Self>,
        args: &ICoreWebView2WebResourceRequestedEventArgs,
    ) -> Result<(), Failure> {
        let step = "answer a request of the page";
        // SAFETY: `args` is the live event's; the strings and the stream outlive the
        // calls; the response is handed to WebView2, which keeps it.
        unsafe {
            let request = args.Request().map_err(com(step))?;
            let mut uri = PWSTR::null();
            request.Uri(&mut uri).map_err(com(step))?;
            let uri = take_pwstr(uri);
            if answered_by_tauri(&uri) {
                return Ok(());
            }
            let response = if is_document(&self.job.address, &uri) {
                // Out of memory is the only way it fails.
                let html = SHCreateMemStream(Some(self.job.html.as_bytes()))
                    .ok_or_else(|| com(step)(E_OUTOFMEMORY.into()))?;
                self.environment.CreateWebResourceResponse(
                    &html,
                    200,
                    &HSTRING::from("OK"),
                    &HSTRING::from(DOCUMENT_HEADERS),
                )
            } else {
                self.environment.CreateWebResourceResponse(
                    None::<&IStream>,
                    403,
                    &HSTRING::from("Forbidden"),
                    &HSTRING::new(),
                )
            }
            .map_err(com(step))?;
            args.SetResponse(&response).map_err(com(step))?;
        }
        Ok(())
    }

    /// Notes which navigation is the page's (the first to its address).
    fn navigation_starting(
        self: &Rc<Self>,
        args: &ICoreWebView2NavigationStartingEventArgs,
    ) -> Result<(), Failure> {
        if self.navigation.get().is_some() {
            return Ok(());
        }
        let step = "follow the navigation";
        let mut uri = PWSTR::null();
        let mut id = 0u64;
        // SAFETY: `args` is the live event's; both out pointers are valid.
        unsafe {
            args.Uri(&mut uri).map_err(com(step))?;
            let uri = take_pwstr(uri);
            if !is_document(&self.job.address, &uri) {
                return Ok(());
            }
            args.NavigationId(&mut id).map_err(com(step))?;
        }
        self.navigation.set(Some(id));
        Ok(())
    }

    /// The page's navigation ended: on success, the ready script runs.
    fn loaded(
        self: &Rc<Self>,
        args: &ICoreWebView2NavigationCompletedEventArgs,
    ) -> Result<(), Failure> {
        let step = "follow the navigation";
        let mut id = 0u64;
        let mut success = BOOL::default();
        // SAFETY: `args` is the live event's; the out pointers are valid.
        unsafe {
            args.NavigationId(&mut id).map_err(com(step))?;
            if self.navigation.get() != Some(id) || self.stage.get() != Stage::Loading {
                return Ok(());
            }
            args.IsSuccess(&mut success).map_err(com(step))?;
            if !success.as_bool() {
                let mut status = COREWEBVIEW2_WEB_ERROR_STATUS::default();
                args.WebErrorStatus(&mut status).map_err(com(step))?;
                return Err(Failure::Load(status.0));
            }
        }
        self.stage.set(Stage::Measuring);
        let page = Rc::clone(self);
        let handler = ExecuteScriptCompletedHandler::create(Box::new(move |result, _| {
            if let Err(error) = result {
                page.guard(Err(com("run the ready script")(error)));
            }
            Ok(())
        }));
        // SAFETY: live web view on its thread; the script string outlives the call.
        unsafe {
            self.webview
                .ExecuteScript(&HSTRING::from(READY_SCRIPT), &handler)
        }
        .map_err(com("run the ready script"))
    }

    /// The title changed: once it carries the ready script's measurements, print.
    fn title_changed(self: &Rc<Self>) -> Result<(), Failure> {
        if self.stage.get() != Stage::Measuring {
            return Ok(());
        }
        let mut title = PWSTR::null();
        // SAFETY: live web view on its thread; the out pointer is valid and the string
        // it gets is freed by `take_pwstr`.
        unsafe { self.webview.DocumentTitle(&mut title) }.map_err(com("read the page's title"))?;
        let Some(measured) = parse_ready_title(&take_pwstr(title)) else {
            return Ok(());
        };
        self.stage.set(Stage::Printing);
        let settings = self.job.print_settings(&measured)?;
        self.print(&settings)
    }

    /// Prints the page into a temporary file with `settings`.
    fn print(self: &Rc<Self>, settings: &PrintSettings) -> Result<(), Failure> {
        let environment = self
            .environment
            .cast::<ICoreWebView2Environment6>()
            .map_err(com("make print settings (the WebView2 Runtime is too old)"))?;
        let core = self
            .webview
            .cast::<ICoreWebView2_7>()
            .map_err(com("print to PDF (the WebView2 Runtime is too old)"))?;
        let file = pdf_path();
        let page = Rc::clone(self);
        let written = file.clone();
        let handler = PrintToPdfCompletedHandler::create(Box::new(move |result, ok| {
            page.printed(&written, result, ok);
            Ok(())
        }));
        let step = "set the print settings";
        // SAFETY: live objects on their thread; the path string outlives the call and
        // the settings object is kept by WebView2 for the print.
        unsafe {
            let print = environment.CreatePrintSettings().map_err(com(step))?;
            print
                .SetOrientation(COREWEBVIEW2_PRINT_ORIENTATION_PORTRAIT)
                .and_then(|()| print.SetPageWidth(settings.page_width))
                .and_then(|()| print.SetPageHeight(settings.page_height))
                .and_then(|()| print.SetMarginTop(settings.margin_top))
                .and_then(|()| print.SetMarginRight(settings.margin_right))
                .and_then(|()| print.SetMarginBottom(settings.margin_bottom))
                .and_then(|()| print.SetMarginLeft(settings.margin_left))
                .and_then(|()| print.SetScaleFactor(settings.scale))
                .and_then(|()| print.SetShouldPrintBackgrounds(settings.print_backgrounds))
                .and_then(|()| print.SetShouldPrintHeaderAndFooter(false))
                .map_err(com(step))?;
            core.PrintToPdf(&HSTRING::from(file.as_path()), &print, &handler)
                .map_err(com("print to PDF"))
        }
    }

    /// `PrintToPdf` is done: the file's bytes are the outcome.
    fn printed(&self, file: &Path, result: windows::core::Result<()>, ok: bool) {
        let outcome = match result {
            Err(error) => Err(com("print to PDF")(error)),
            Ok(()) if !ok => Err(Failure::NoPdf),
            Ok(()) => match std::fs::read(file) {
                Ok(pdf) if pdf.starts_with(b"%PDF-") => Ok(pdf),
                Ok(_) => Err(Failure::NoPdf),
                Err(error) => Err(Failure::ReadPdf(error)),
            },
        };
        let _ = std::fs::remove_file(file);
        finish(&self.app, outcome);
    }

    /// A renderer that ends takes the page with it; other processes (GPU, utilities)
    /// come back by themselves.
    fn process_failed(
        self: &Rc<Self>,
        args: &ICoreWebView2ProcessFailedEventArgs,
    ) -> Result<(), Failure> {
        let mut kind = COREWEBVIEW2_PROCESS_FAILED_KIND::default();
        // SAFETY: `args` is the live event's; the out pointer is valid.
        unsafe { args.ProcessFailedKind(&mut kind) }.map_err(com("watch the page's renderer"))?;
        if kind == COREWEBVIEW2_PROCESS_FAILED_KIND_BROWSER_PROCESS_EXITED
            || kind == COREWEBVIEW2_PROCESS_FAILED_KIND_RENDER_PROCESS_EXITED
        {
            return Err(Failure::Crashed);
        }
        Ok(())
    }
}
