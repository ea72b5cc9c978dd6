// UI strings in English and Simplified Chinese; the language follows the setting, then the system.

const strings = {
  en: {
    'tab.status': 'Status', 'tab.jobs': 'Jobs', 'tab.settings': 'Settings',
    status: 'Connection', reconnect: 'Reconnect', pause: 'Pause printing', resume: 'Resume printing',
    paused: 'Printing paused', server: 'Server', clientId: 'Client id', printer: 'Printer',
    heartbeat: 'Heartbeat', today: 'Today', events: 'Connection history', noEvents: 'Nothing yet.',
    'count.completed': 'completed', 'count.failed': 'failed', 'count.waiting': 'waiting',
    systemDefault: 'system default', noServer: 'Set a server in Settings.',
    'state.idle': 'No server', 'state.connecting': 'Connecting', 'state.connected': 'Connected',
    'state.reconnecting': 'Reconnecting', 'state.gaveUp': 'Offline', 'state.kicked': 'Disconnected by server',
    'state.stopped': 'Stopped',
    attempt: (a, n) => `attempt ${a} of ${n}`, retryIn: (s) => `next try in ${s} s`,
    gaveUp: (n, e) => `Gave up after ${n} attempts: ${e}`,
    backgroundRetry: (t) => `trying again in the background at ${t}`,
    'problem.server_unreachable': (h) => `The server does not answer at ${h}. Is it running?`,
    'problem.name_not_found': (h) => `The server name in ${h} cannot be found. Check the server URL.`,
    'problem.certificate_untrusted': (h) => `The certificate of the server ${h} is not trusted.`,
    'problem.token_refused': () => 'The server refused the token. Check the token in Settings.',
    'problem.server_refused': () => 'The server refused the connection.',
    'problem.not_socket_io': (h) => `${h} answered, but it is not a PrintRelay server. Check the server URL.`,
    'problem.timeout': (h) => `The server ${h} did not answer in time.`,
    'problem.invalid_url': () => 'The server URL cannot be used. Check it in Settings.',
    'problem.connection_lost': () => 'The connection to the server was lost.',
    'kick.server': 'The server disconnected this computer (check the token and client ID).',
    'kick.replaced': 'Another computer connected with the same client ID.',
    technical: 'Technical details', colon: ': ',
    since: (t) => `since ${t}`, lastBeat: (s, i, t) => `${s} s ago (every ${i} s, timeout ${t} s)`,
    rtt: (ms) => `, round trip ${ms} ms`,
    'event.connected': 'Connected', 'event.reconnected': 'Reconnected',
    'event.lost': (e) => `Connection lost: ${e}`, 'event.lostPlain': 'Connection lost', 'event.retrying': (e) => `Retrying: ${e}`,
    'event.gaveUp': (n, e) => `Gave up after ${n} attempts: ${e}`, 'event.kicked': (r) => `Disconnected by the server: ${r}`,
    'job.received': 'received', 'job.spooled': 'at the spooler', 'job.completed': 'completed',
    'job.failed': 'failed', 'job.rejected': 'rejected', 'job.expired': 'expired', 'job.cancelled': 'cancelled',
    'printer.ready': 'ready', 'printer.printing': 'printing', 'printer.paused': 'paused',
    'printer.offline': 'offline', 'printer.unknown': 'state unknown', 'printer.missing': 'not found on this computer',
    'filter.all': 'All', 'filter.waiting': 'Waiting', 'filter.completed': 'Completed', 'filter.failed': 'Failed',
    'filter.cancelled': 'Cancelled', search: 'Search title or job id', time: 'Time', title: 'Title', size: 'Size',
    state: 'State', noJobs: 'No jobs.', more: 'Show more', details: 'Details', reprint: 'Print again',
    cancel: 'Cancel job', close: 'Close', jobId: 'Job id', copies: 'Copies', received: 'Received',
    updated: 'Updated', spoolerJob: 'Spooler job', reprintOf: 'Reprint of', error: 'Error',
    shown: (n, total) => `${n} of ${total}`,
    serverUrl: 'Server URL', token: 'Token', refresh: 'Refresh', testPrint: 'Test print',
    allowServerPrinterChoice: 'Let servers choose another printer of this computer',
    reconnectPolicy: 'Reconnecting', attempts: 'Attempts', delayMs: 'First delay (ms)',
    delayMaxMs: 'Longest delay (ms)', connectTimeoutMs: 'Connect timeout (ms)',
    backgroundRetryMs: 'After giving up, try again every (ms, 0 = never)',
    autostart: 'Start with the computer', notifications: 'Notify me when a job fails or the connection gives up',
    language: 'Language', 'language.system': 'System', save: 'Save', saved: 'Saved and applied.',
    notANumber: 'Enter a whole number.', testQueued: (id) => `Test page queued (${id}).`,
    connectionGroup: 'Connection', printingGroup: 'Printing', appGroup: 'This app',
    'jobError.invalid_payload': 'The server sent a job this computer cannot read.',
    'jobError.invalid_job_id': 'The server sent a job with an unusable job ID.',
    'jobError.unsupported_content_type': 'This kind of document cannot be printed here.',
    'jobError.missing_content': 'The job has no document.',
    'jobError.invalid_content': 'The document is damaged or not of the kind the job says.',
    'jobError.empty_content': 'The document is empty.',
    'jobError.content_too_large': 'The document is larger than this computer accepts.',
    'jobError.invalid_copies': 'The number of copies must be from 1 to 999.',
    'jobError.invalid_options': "The job's print options are not valid.",
    'jobError.invalid_timestamp': 'The job carries a time this computer cannot read.',
    'jobError.expired': 'The job expired before it could be printed.',
    'jobError.printer_not_found': 'The printer is not installed on this computer.',
    'jobError.printer_not_allowed': 'The job asks for another printer; this computer lets servers use only the selected one (see Settings).',
    'jobError.no_printer': 'No printer is selected and this computer has no default printer.',
    'jobError.fetch_failed': 'The document could not be downloaded.',
    'jobError.fetch_refused': 'The document is on a server this computer does not download from.',
    'jobError.print_failed': 'The printer or its driver could not print the job.',
    'jobError.cancelled': 'The job was cancelled.',
    'jobError.spooler_lost': 'The print queue lost track of the job: it may or may not have printed.',
    'jobError.unsupported_binary': 'The server sent the document in a form this version cannot take yet.',
  },
  'zh-CN': {
    'tab.status': '状态', 'tab.jobs': '任务', 'tab.settings': '设置',
    status: '连接', reconnect: '重新连接', pause: '暂停打印', resume: '恢复打印',
    paused: '打印已暂停', server: '服务器', clientId: '客户端 ID', printer: '打印机',
    heartbeat: '心跳', today: '今天', events: '连接记录', noEvents: '暂无记录。',
    'count.completed': '已完成', 'count.failed': '失败', 'count.waiting': '等待中',
    systemDefault: '系统默认', noServer: '请在设置中填写服务器。',
    'state.idle': '未配置服务器', 'state.connecting': '正在连接', 'state.connected': '已连接',
    'state.reconnecting': '正在重连', 'state.gaveUp': '离线', 'state.kicked': '被服务器断开',
    'state.stopped': '已停止',
    attempt: (a, n) => `第 ${a} 次，共 ${n} 次`, retryIn: (s) => `${s} 秒后重试`,
    gaveUp: (n, e) => `${n} 次尝试后放弃：${e}`,
    backgroundRetry: (t) => `将于 ${t} 在后台再次尝试`,
    'problem.server_unreachable': (h) => `服务器 ${h} 没有响应，请确认服务器已启动。`,
    'problem.name_not_found': (h) => `找不到服务器 ${h}，请检查服务器地址。`,
    'problem.certificate_untrusted': (h) => `服务器 ${h} 的证书不受信任。`,
    'problem.token_refused': () => '服务器拒绝了令牌，请在设置中检查令牌。',
    'problem.server_refused': () => '服务器拒绝了连接。',
    'problem.not_socket_io': (h) => `${h} 有响应，但不是 PrintRelay 服务器，请检查服务器地址。`,
    'problem.timeout': (h) => `服务器 ${h} 响应超时。`,
    'problem.invalid_url': () => '服务器地址无法使用，请在设置中检查。',
    'problem.connection_lost': () => '与服务器的连接已中断。',
    'kick.server': '服务器断开了本机的连接（请检查令牌和客户端 ID）。',
    'kick.replaced': '另一台电脑使用相同的客户端 ID 连接了服务器。',
    technical: '技术详情', colon: '：',
    since: (t) => `自 ${t}`, lastBeat: (s, i, t) => `${s} 秒前（间隔 ${i} 秒，超时 ${t} 秒）`,
    rtt: (ms) => `，往返 ${ms} 毫秒`,
    'event.connected': '已连接', 'event.reconnected': '已重新连接',
    'event.lost': (e) => `连接断开：${e}`, 'event.lostPlain': '连接断开', 'event.retrying': (e) => `正在重试：${e}`,
    'event.gaveUp': (n, e) => `${n} 次尝试后放弃：${e}`, 'event.kicked': (r) => `被服务器断开：${r}`,
    'job.received': '已接收', 'job.spooled': '已送入打印队列', 'job.completed': '已完成',
    'job.failed': '失败', 'job.rejected': '已拒绝', 'job.expired': '已过期', 'job.cancelled': '已取消',
    'printer.ready': '就绪', 'printer.printing': '正在打印', 'printer.paused': '已暂停',
    'printer.offline': '离线', 'printer.unknown': '状态未知', 'printer.missing': '本机没有这台打印机',
    'filter.all': '全部', 'filter.waiting': '等待中', 'filter.completed': '已完成', 'filter.failed': '失败',
    'filter.cancelled': '已取消', search: '搜索标题或任务 ID', time: '时间', title: '标题', size: '大小',
    state: '状态', noJobs: '没有任务。', more: '显示更多', details: '详情', reprint: '重新打印',
    cancel: '取消任务', close: '关闭', jobId: '任务 ID', copies: '份数', received: '接收时间',
    updated: '更新时间', spoolerJob: '打印队列任务', reprintOf: '重印自', error: '错误',
    shown: (n, total) => `${n} / ${total}`,
    serverUrl: '服务器地址', token: '令牌', refresh: '刷新', testPrint: '打印测试页',
    allowServerPrinterChoice: '允许服务器选择本机的其他打印机',
    reconnectPolicy: '重连', attempts: '尝试次数', delayMs: '首次等待（毫秒）',
    delayMaxMs: '最长等待（毫秒）', connectTimeoutMs: '连接超时（毫秒）',
    backgroundRetryMs: '放弃后每隔多久在后台重试（毫秒，0 为不重试）',
    autostart: '开机自动启动', notifications: '任务失败或停止重连时通知我',
    language: '语言', 'language.system': '跟随系统', save: '保存', saved: '已保存并生效。',
    notANumber: '请输入整数。', testQueued: (id) => `测试页已加入队列（${id}）。`,
    connectionGroup: '连接', printingGroup: '打印', appGroup: '本应用',
    'jobError.invalid_payload': '服务器发送的任务格式无法识别。',
    'jobError.invalid_job_id': '服务器发送的任务 ID 无效。',
    'jobError.unsupported_content_type': '本机无法打印这种类型的文档。',
    'jobError.missing_content': '任务中没有文档。',
    'jobError.invalid_content': '文档已损坏，或与任务声明的类型不符。',
    'jobError.empty_content': '文档为空。',
    'jobError.content_too_large': '文档太大，本机不接收。',
    'jobError.invalid_copies': '份数必须在 1 到 999 之间。',
    'jobError.invalid_options': '任务的打印选项无效。',
    'jobError.invalid_timestamp': '任务中的时间格式无效。',
    'jobError.expired': '任务在打印前已过期。',
    'jobError.printer_not_found': '本机没有安装该打印机。',
    'jobError.printer_not_allowed': '任务指定了其他打印机，而本机只允许服务器使用所选的打印机（见设置）。',
    'jobError.no_printer': '未选择打印机，本机也没有默认打印机。',
    'jobError.fetch_failed': '无法下载文档。',
    'jobError.fetch_refused': '文档所在的服务器不在本机允许下载的范围内。',
    'jobError.print_failed': '打印机或其驱动程序未能打印此任务。',
    'jobError.cancelled': '任务已取消。',
    'jobError.spooler_lost': '打印队列已无法追踪此任务，可能已打印，也可能未打印。',
    'jobError.unsupported_binary': '服务器发送文档的方式本版本暂不支持。',
  },
};

/** The languages the UI speaks. */
export const languages = Object.freeze(Object.keys(strings));

/** Picks 'zh-CN' or 'en' from a setting ('system', 'zh-CN', 'en') and the browser languages. */
export function pickLanguage(setting, browserLanguages) {
  if (setting === 'zh-CN' || setting === 'en') return setting;
  return (browserLanguages || []).some((l) => l.toLowerCase().startsWith('zh')) ? 'zh-CN' : 'en';
}

/** Returns t(key, ...args) for a language. */
export function translator(language) {
  const table = strings[language] || strings.en;
  const t = (key, ...args) => {
    const value = table[key] ?? strings.en[key] ?? key;
    return typeof value === 'function' ? value(...args) : value;
  };
  // Dates and times follow the language too.
  t.locale = strings[language] ? language : 'en';
  return t;
}

/** Keys one language has and the other lacks (a test keeps this empty). */
export function missingKeys() {
  const en = new Set(Object.keys(strings.en));
  const zh = new Set(Object.keys(strings['zh-CN']));
  return [...en].filter((k) => !zh.has(k)).concat([...zh].filter((k) => !en.has(k)));
}
