// UI strings in English and Simplified Chinese; the language follows the system.

const strings = {
  en: {
    status: 'Status', reconnect: 'Reconnect', server: 'Server', clientId: 'Client id',
    printer: 'Printer', heartbeat: 'Heartbeat', jobs: 'Recent jobs', time: 'Time',
    job: 'Job', state: 'State', noJobs: 'No jobs yet.', systemDefault: 'system default',
    'state.idle': 'No server', 'state.connecting': 'Connecting', 'state.connected': 'Connected',
    'state.reconnecting': 'Reconnecting', 'state.gaveUp': 'Offline', 'state.kicked': 'Disconnected by server',
    'state.stopped': 'Stopped',
    attempt: (a, n) => `attempt ${a} of ${n}`, retryIn: (s) => `next try in ${s} s`,
    gaveUp: (n, e) => `Gave up after ${n} attempts: ${e}`,
    since: (t) => `since ${t}`, lastBeat: (s, i, t) => `${s} s ago (every ${i} s, timeout ${t} s)`,
    rtt: (ms) => `, round trip ${ms} ms`,
    'job.received': 'received', 'job.spooled': 'spooled', 'job.completed': 'completed',
    'job.failed': 'failed', 'job.rejected': 'rejected', 'job.expired': 'expired', 'job.cancelled': 'cancelled',
  },
  'zh-CN': {
    status: '状态', reconnect: '重新连接', server: '服务器', clientId: '客户端 ID',
    printer: '打印机', heartbeat: '心跳', jobs: '最近的任务', time: '时间',
    job: '任务', state: '状态', noJobs: '暂无任务。', systemDefault: '系统默认',
    'state.idle': '未配置服务器', 'state.connecting': '正在连接', 'state.connected': '已连接',
    'state.reconnecting': '正在重连', 'state.gaveUp': '离线', 'state.kicked': '被服务器断开',
    'state.stopped': '已停止',
    attempt: (a, n) => `第 ${a} 次，共 ${n} 次`, retryIn: (s) => `${s} 秒后重试`,
    gaveUp: (n, e) => `${n} 次尝试后放弃：${e}`,
    since: (t) => `自 ${t}`, lastBeat: (s, i, t) => `${s} 秒前（间隔 ${i} 秒，超时 ${t} 秒）`,
    rtt: (ms) => `，往返 ${ms} 毫秒`,
    'job.received': '已接收', 'job.spooled': '已送入队列', 'job.completed': '已完成',
    'job.failed': '失败', 'job.rejected': '已拒绝', 'job.expired': '已过期', 'job.cancelled': '已取消',
  },
};

/** Picks 'zh-CN' or 'en' from a setting ('system', 'zh-CN', 'en') and the browser languages. */
export function pickLanguage(setting, languages) {
  if (setting === 'zh-CN' || setting === 'en') return setting;
  return (languages || []).some((l) => l.toLowerCase().startsWith('zh')) ? 'zh-CN' : 'en';
}

/** Returns t(key, ...args) for a language. */
export function translator(language) {
  const table = strings[language] || strings.en;
  return (key, ...args) => {
    const value = table[key] ?? strings.en[key] ?? key;
    return typeof value === 'function' ? value(...args) : value;
  };
}
