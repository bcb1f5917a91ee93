const F=573,H=[573],B={3104:((U,k,c)=>{c.d(k,{t:()=>$});var a=c(9114),g=c(1661),o=c(7521);function d(h){return o.xf.find(y=>y.name===h)?.default??""}function $(h,y={}){return{privateKey:h("ssh-private-key"),knownHosts:h("ssh-known-hosts"),acceptNewHostKeys:(0,a.q6)("ssh-accept-new-host-keys",h("ssh-accept-new-host-keys"),d("ssh-accept-new-host-keys")==="true"),extraOptions:(0,g.K_)(h("ssh-options")),sudo:(0,a.nL)("sudo",h("sudo"),["auto","true","false"],d("sudo")),connectTimeout:(0,a.EJ)("ssh-connect-timeout",h("ssh-connect-timeout"),Number(d("ssh-connect-timeout")),{max:600}),allowUserKnownHosts:y.terminal===!0}}}),9145:((U,k,c)=>{c.d(k,{$W:()=>D,jJ:()=>W,o9:()=>C});var a=c(9114);const g=[[/^would stop the following units(?: as well)?:/,"stop"],[/^would NOT stop the following changed units(?: as well)?:/,"notStopped"],[/^would NOT restart the following changed units(?: as well)?:/,"notStopped"],[/^would reload the following units:/,"reload"],[/^would restart the following units:/,"restart"],[/^would start the following units:/,"start"],[/^stopping the following units(?: as well)?:/,"stop"],[/^NOT restarting the following changed units(?: as well)?:/,"skipped"],[/^reloading the following units:/,"reload"],[/^restarting the following units:/,"restart"],[/^starting the following units:/,"start"],[/^the following new units were started:/,"newlyStarted"],[/^warning: the following units failed:/,"failed"],[/^warning: the following user units failed:/,"failedUserUnits"]],o=/^warning: user activation for ([A-Za-z0-9._@-]{1,64}\$?) failed$/,d=[/^would activate the configuration\.\.\.$/,/^activating the configuration\.\.\.$/],$=[/^would restart systemd$/,/^restarting systemd\.\.\.$/],h="service|socket|target|timer|mount|path|slice|scope|swap|automount|device",y=new RegExp(`^[A-Za-z0-9:_.@\\\\-]+\\.(?:${h})$`);function C(u){return u.length<=256&&y.test(u)}function W(u){const r={stop:new Set,restart:new Set,reload:new Set,start:new Set,notStopped:new Set,skipped:new Set,newlyStarted:new Set,failed:new Set,failedUserUnits:new Set},_=new Set;let I=!1;const E=[],v=(0,a.aJ)(String(u??"")).split(/\r?\n|\r/);for(let p=0;p<v.length;p++){const w=v[p].trim();if(w===""||d.some(t=>t.test(w)))continue;if($.some(t=>t.test(w))){I=!0;continue}const R=o.exec(w);if(R){_.add(R[1]);continue}const L=g.find(([t])=>t.test(w));if(!L){E.push(w);continue}const[x,j]=L;let A=w.replace(x,"");for(;A.trim().endsWith(",")&&p+1<v.length&&v[p+1].trim()!=="";)p++,A+=" "+v[p].trim();let O=!1;for(const t of A.split(",")){const i=t.trim();i!==""&&(C(i)?r[j].add(i):O=!0)}O&&E.push(w)}const f=p=>[...p].sort();return{stop:f(r.stop),restart:f(r.restart),reload:f(r.reload),start:f(r.start),notStopped:f(r.notStopped),skipped:f(r.skipped),newlyStarted:f(r.newlyStarted),failed:f(r.failed),failedUserUnits:f(r.failedUserUnits),failedUsers:f(_),restartSystemd:I,lines:E}}function D(u){const r=[];return u.failed.length&&r.push(`units failed: ${u.failed.join(", ")}`),u.failedUserUnits.length&&r.push(`user units failed: ${u.failedUserUnits.join(", ")}`),u.failedUsers.length&&r.push(`user activation failed for ${u.failedUsers.join(", ")}`),r.length?r.join("; "):"units failed: see the log"}}),6045:((U,k,c)=>{c.d(k,{G:()=>A});var a=c(4296),g=c(9978),o=c(1661);const d="/run/nix-deploy",$="/nix/var/nix/profiles/system",h=`
restore_profile() {
  p=/nix/var/nix/profiles
  cur=$(readlink "$p/system" 2>/dev/null || true)
  if [ -n "$2" ] && [ -L "$p/$2" ] && [ "$(readlink -f "$p/$2")" = "$1" ]; then
    ln -sfn "$2" "$p/system.nix-deploy-tmp" && mv -T "$p/system.nix-deploy-tmp" "$p/system" || return 1
    if [ "$3" = delete ] && [ -n "$cur" ] && [ "$cur" != "$2" ] && [ "$(readlink -f "$p/$cur")" != "$1" ]; then
      n=\${cur#system-}; n=\${n%-link}
      nix-env -p "$p/system" --delete-generations "$n" >/dev/null 2>&1 || true
    fi
  else
    nix-env -p "$p/system" --set "$1" || return 1
  fi
}
`,y=`
probe_state() {
  want_path=$1
  cur=$(readlink -f /run/current-system 2>/dev/null || true)
  [ -n "$cur" ] && [ -e "$cur" ] || cur=
  gen=$(readlink ${$} 2>/dev/null || true)
  prof=$(readlink -f ${$} 2>/dev/null || true)
  boot=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || true)
  sd=no; if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then sd=yes; fi
  fl=no; if command -v flock >/dev/null 2>&1; then fl=yes; fi
  want=no; if [ -n "$want_path" ] && [ -e "$want_path" ]; then want=yes; fi
  act=no; if [ -n "$cur" ] && [ -x "$cur/bin/switch-to-configuration" ]; then act=yes; fi
  printf 'current=%s\\ngeneration=%s\\nprofile=%s\\nboot=%s\\nsystemd=%s\\nflock=%s\\nhas-wanted=%s\\nactivatable=%s\\n' "$cur" "$gen" "$prof" "$boot" "$sd" "$fl" "$want" "$act"
}
`,C=y+`
probe_state "$1"
`,W=y+`
d=$1
mkdir -p "$d" && chmod 700 "$d" || exit 70
exec 9>>"$d/lock" || exit 70
if ! flock -n 9; then
  echo "nix-deploy-lock-busy $(cat "$d/lock.info" 2>/dev/null | head -c 300 | tr '\\n' ' ')"
  exit 75
fi
printf '%s\\n' "$2" > "$d/lock.info"
probe_state "$4"
echo nix-deploy-lock-acquired
timeout "$3" cat > /dev/null
rm -f "$d/lock.info"
`,D=h+`
d=$1; id=$2
armed=$(cat "$d/armed-$id" 2>/dev/null || date +%s)
while :; do
  [ -e "$d/confirm-$id" ] && exit 0
  now=$(date +%s)
  if [ -s "$d/deadline-$id" ]; then deadline=$(cat "$d/deadline-$id")
  elif [ -s "$d/switch-$id.end" ]; then deadline=$(( $(cat "$d/switch-$id.end") + $3 ))
  else deadline=$(( armed + $6 + $3 )); fi
  [ "$now" -ge "$deadline" ] && break
  sleep 1
done
exec 7>"$d/wd-$id.lock"; flock 7
[ -e "$d/confirm-$id" ] && exit 0
exec >"$d/rollback-$id.log" 2>&1
flock -u 7
echo "nix-deploy: not confirmed by $(date -u +%Y-%m-%dT%H:%M:%SZ); restoring \${4:-nothing}"
if [ -z "$4" ]; then echo 3 > "$d/rollback-$id.exit"; exit 3; fi
# Wait for a running activation to end first (it may be the one that cut the connection).
n=0; while [ -e "$d/switch-$id.log" ] && [ ! -s "$d/switch-$id.exit" ] && [ $n -lt 600 ]; do sleep 1; n=$((n+1)); done
if [ "$5" != test ]; then restore_profile "$4" "$7" delete || { echo 1 > "$d/rollback-$id.exit"; exit 1; }; fi
if [ "$5" = boot ]; then act=boot; elif [ "$5" = test ]; then act=test; else act=switch; fi
"$4/bin/switch-to-configuration" "$act"
echo $? > "$d/rollback-$id.exit"
`,u=`
d=$1; id=$2
mkdir -p "$d" && chmod 700 "$d" || exit 70
rm -f "$d/confirm-$id" "$d/deadline-$id" "$d/rollback-$id.log" "$d/rollback-$id.exit"
wd=$d/watchdog-$id.sh
(umask 077 && printf '%s
' "$7" > "$wd.tmp") && mv -f "$wd.tmp" "$wd" || exit 70
date +%s > "$d/armed-$id"
if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then
  systemd-run --unit "nix-deploy-watchdog-$id" --collect --quiet --property=Type=exec --setenv=PATH="$PATH" -- /bin/sh "$wd" "$1" "$2" "$3" "$4" "$5" "$6" "$8" || exit 71
else
  setsid /bin/sh "$wd" "$1" "$2" "$3" "$4" "$5" "$6" "$8" </dev/null >/dev/null 2>&1 &
  echo $! > "$d/watchdog-$id.pid"
fi
echo armed
`,r=h+`
d=$1; id=$2; top=$3; act=$4
mkdir -p "$d" && chmod 700 "$d" || exit 70
rm -f "$d/switch-$id.exit" "$d/switch-$id.end"
: > "$d/switch-$id.log"
if [ "$5" = set ]; then
  nix-env -p ${$} --set "$top" || { echo "nix-deploy: could not set the system profile" >&2; exit 90; }
elif [ "$5" = restore ] || [ "$5" = restore-delete ]; then
  restore_profile "$top" "$7" "\${5#restore-}" || { echo "nix-deploy: could not restore the system profile" >&2; exit 90; }
fi
echo "nix-deploy-profile $(readlink ${$} 2>/dev/null)"
# The detached job, as a file (not inside the unit: see the top of this file).
job=$d/switch-$id.sh
(umask 077 && printf '%s
' '"$1/bin/switch-to-configuration" "$2" >"$3" 2>&1; rc=$?; date +%s >"$4.end"; echo $rc >"$4.exit"' > "$job.tmp") && mv -f "$job.tmp" "$job" || exit 70
if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then
  systemd-run --unit "nix-deploy-switch-$id" --collect --quiet --property=Type=exec --setenv=PATH="$PATH" --setenv=LOCALE_ARCHIVE="\${LOCALE_ARCHIVE:-}" -- /bin/sh "$job" "$top" "$act" "$d/switch-$id.log" "$d/switch-$id" || exit 71
else
  setsid /bin/sh "$job" "$top" "$act" "$d/switch-$id.log" "$d/switch-$id" </dev/null >/dev/null 2>&1 &
fi
echo nix-deploy-activation-started
`+_();function _(){return`
n=0; limit=$(( $6 * 5 ))
while [ ! -s "$d/switch-$id.exit" ]; do
  sleep 0.2; n=$((n+1))
  if [ $n -ge $limit ]; then echo "nix-deploy: activation still running after $6 s" >&2; exit 91; fi
done
cat "$d/switch-$id.log" >&2
exit "$(cat "$d/switch-$id.exit")"
`}const I=`
d=$1; id=$2
[ -e "$d/switch-$id.log" ] || { echo "nix-deploy: no activation $id on this host" >&2; exit 93; }
`+_(),E=`
d=$1; id=$2; n=0
while read -r beat; do
  [ -e "$d/rollback-$id.log" ] && { echo nix-deploy-fired; exit 92; }
  [ -e "$d/confirm-$id" ] && exit 0
  now=$(date +%s)
  echo $(( now + $3 )) > "$d/deadline-$id.tmp" && mv -f "$d/deadline-$id.tmp" "$d/deadline-$id"
  n=$((n+1)); echo "$n $now" > "$d/beats-$id"
  echo "nix-deploy-beat $beat"
done
`,v=`
d=$1; id=$2
exec 7>"$d/wd-$id.lock"; flock 7
if [ -e "$d/rollback-$id.log" ]; then echo fired; exit 92; fi
touch "$d/confirm-$id"
flock -u 7
if [ -s "$d/watchdog-$id.pid" ]; then kill "$(cat "$d/watchdog-$id.pid")" 2>/dev/null || true; fi
if [ -d /run/systemd/system ]; then systemctl stop "nix-deploy-watchdog-$id.service" >/dev/null 2>&1 || true; fi
rm -f "$d/watchdog-$id.pid" "$d/watchdog-$id.sh" "$d/armed-$id" "$d/deadline-$id" "$d/wd-$id.lock"
echo confirmed
`,f=`
d=$1; id=$2
exec 7>"$d/wd-$id.lock"; flock 7
if [ -e "$d/rollback-$id.log" ]; then
  flock -u 7
  n=0; while [ ! -s "$d/rollback-$id.exit" ] && [ $n -lt 6000 ]; do sleep 0.1; n=$((n+1)); done
  echo "fired $(cat "$d/rollback-$id.exit" 2>/dev/null || echo running)"
  exit 0
fi
touch "$d/confirm-$id"
flock -u 7
if [ -s "$d/watchdog-$id.pid" ]; then kill "$(cat "$d/watchdog-$id.pid")" 2>/dev/null || true; fi
if [ -d /run/systemd/system ]; then systemctl stop "nix-deploy-watchdog-$id.service" >/dev/null 2>&1 || true; fi
echo disarmed
`,p=`
d=$1; id=$2
if [ -e "$d/rollback-$id.log" ]; then
  echo "fired=$(cat "$d/rollback-$id.exit" 2>/dev/null || echo running)"
  sed 's/^/log=/' "$d/rollback-$id.log" | tail -n 20
else
  echo fired=no
fi
`,w=`
cd /nix/var/nix/profiles 2>/dev/null || exit 0
for l in system-*-link; do
  [ -L "$l" ] || continue
  n=\${l#system-}; n=\${n%-link}
  printf '%s %s\\n' "$n" "$(readlink -f "$l")"
done
`,R=`
for side in current booted; do
  p=$(readlink -f "/run/$side-system" 2>/dev/null || true)
  [ -n "$p" ] && [ -e "$p" ] || p=
  printf '%s=%s\\n' "$side" "$p"
  for part in kernel initrd kernel-modules; do
    v=
    if [ -n "$p" ]; then v=$(readlink -f "$p/$part" 2>/dev/null || true); fi
    printf '%s-%s=%s\\n' "$side" "$part" "$v"
  done
done
`,L=`
setsid /bin/sh -c 'sleep 1; if [ -d /run/systemd/system ]; then systemctl reboot; else reboot; fi' </dev/null >/dev/null 2>&1 &
echo rebooting
`,x=6e4;function j(O){const t=/system-(\d+)-link$/.exec(O.trim());return t?Number(t[1]):null}class A{session;remote;logger;constructor(t,i,e){this.session=t,this.remote=i,this.logger=e}get host(){return this.remote.host}script(t,i,e,n,s=x,l=!0){return(0,o.mW)(this.session,this.remote,t,i,{timeoutMs:s,phase:e,what:n,logger:this.logger,check:l})}async connect(t,i){const e=(this.session.settings.connectTimeout+30)*1e3,n=await this.session.connect(this.remote,{timeoutMs:e,logger:this.logger});if(n)throw(0,o.vU)(this.remote,n,{phase:t,what:i,timeoutMs:e})}async probe(t,i="probe"){const e=await this.script(C,[t],i,"reading the current system");return this.parseProbe(e.stdout.split(`
`),i)}parseProbe(t,i){const e=new Map;for(const n of t){const s=n.indexOf("=");s>0&&e.set(n.slice(0,s),n.slice(s+1).trim())}if(!e.has("current"))throw(0,a.FT)({host:this.host,phase:i,kind:"host-state"},"the host's answer could not be read (is its login shell POSIX?)");return{current:e.get("current")||null,generation:j(e.get("generation")??""),generationLink:/^system-\d+-link$/.test(e.get("generation")??"")?e.get("generation"):null,profile:e.get("profile")||null,bootId:e.get("boot")??"",systemd:e.get("systemd")==="yes",flock:e.get("flock")==="yes",hasWanted:e.get("has-wanted")==="yes",activatable:e.get("activatable")==="yes"}}async lock(t,i,e=""){const s=[...this.session.needsSudo(this.remote)?["sudo","-n","--"]:[],"sh","-c",W,"nix-deploy",d,t,String(i),e],l=(0,g.kp)(this.session.sshArgv(this.remote,s.map(g.ZL).join(" ")),{timeoutMs:(i+60)*1e3,logger:this.logger}),b=await l.waitForLine(T=>T.startsWith("nix-deploy-lock-"),6e4);if(b==="nix-deploy-lock-acquired")return{state:this.parseProbe(l.lines,"lock"),release:async()=>{l.closeInput(),await Promise.race([l.done,new Promise(P=>setTimeout(P,5e3,null))])===null&&l.kill()}};l.kill();const S=await l.done,m={host:this.host,phase:"lock"};if(b?.startsWith("nix-deploy-lock-busy")){const T=b.slice(20).trim();throw(0,a.FT)({...m,kind:"busy"},`another deploy is running on this host${T?` (${T})`:""}; try again when it has finished`)}if(S.exitCode===o.M2)throw(0,a.FT)({...m,kind:"connection"},`could not connect: ${(0,o.eG)(S.stderr)}`);const M=S.stderr.trim().split(`
`).pop()??"";throw(0,a.FT)({...m,kind:"command",detail:S.stderr},`could not take the deploy lock${S.exitCode===127?" (flock is missing on the host)":M?`: ${M}`:""}`)}async armWatchdog(t,i,e,n,s,l){const b=[d,t,String(i),e??"",s,String(l),D,n??""];await this.script(u,b,"arm","arming the rollback watchdog")}async activate(t,i,e,n,s,l,b=""){const S=[d,t,i,e,n,String(s),b],m=await(0,o.mW)(this.session,this.remote,r,S,{timeoutMs:(s+30)*1e3,phase:"activate",what:"activating",logger:this.logger,check:!1,onStderrLine:l}),M=m.stdout.split(`
`).find(N=>N.startsWith("nix-deploy-profile ")),T=m.stdout.includes("nix-deploy-activation-started"),P=m.exitCode===o.M2||m.timedOut||T&&m.exitCode===null;return{exitCode:P?null:m.exitCode,output:m.stderr,connectionLost:P,profileLink:M?M.slice(19).trim():null}}async waitActivation(t,i){const e=await(0,o.mW)(this.session,this.remote,I,[d,t,"","","",String(i)],{timeoutMs:(i+30)*1e3,phase:"activate",what:"waiting for the activation",logger:this.logger,check:!1}),n=e.exitCode===o.M2||e.timedOut;return{exitCode:n?null:e.exitCode,output:e.stderr,connectionLost:n}}heartbeatChannel(t,i,e){const s=[...this.session.needsSudo(this.remote)?["sudo","-n","--"]:[],"sh","-c",E,"nix-deploy",d,t,String(i)];return(0,g.kp)(this.session.sshArgv(this.remote,s.map(g.ZL).join(" ")),{timeoutMs:e*1e3,logger:this.logger})}freshLogin(t){return(0,o.mW)(this.session,this.remote,"true",[],{timeoutMs:x,phase:t,what:"a new SSH connection to the host",privileged:!1,check:!1,fresh:!0,logger:this.logger})}async confirm(t){const i=await this.script(v,[d,t],"confirm","confirming the deployment",x,!1);if(i.exitCode===0)return"confirmed";if(i.exitCode===92)return"fired";throw(0,a.FT)({host:this.host,phase:"confirm",kind:i.exitCode===o.M2?"connection":"command"},i.exitCode===o.M2?`confirming failed: ${(0,o.eG)(i.stderr)}`:`confirming failed with exit code ${i.exitCode}`)}async disarm(t){const e=(await this.script(f,[d,t],"rollback","disarming the watchdog",10*x)).stdout.trim().split(`
`).pop()??"";return e.startsWith("fired")?{fired:!0,exit:e.slice(6).trim()}:{fired:!1,exit:""}}async watchdogState(t){const e=(await this.script(p,[d,t],"rollback","reading the watchdog",x)).stdout.split(`
`),n=(e.find(s=>s.startsWith("fired="))??"fired=no").slice(6);return{fired:n!=="no",exit:n==="no"?"":n,log:e.filter(s=>s.startsWith("log=")).map(s=>s.slice(4))}}async generations(t="resolve"){return(await this.script(w,[],t,"listing the system generations")).stdout.split(`
`).map(e=>/^(\d+) (\/\S+)$/.exec(e.trim())).filter(e=>e!==null).map(e=>({generation:Number(e[1]),storePath:e[2]})).sort((e,n)=>e.generation-n.generation)}async systems(t="read"){const i=await(0,o.mW)(this.session,this.remote,R,[],{timeoutMs:x,phase:t,what:"reading /run/current-system and /run/booted-system",logger:this.logger,privileged:!1}),e=new Map;for(const s of i.stdout.split(`
`)){const l=s.indexOf("=");l>0&&e.set(s.slice(0,l),s.slice(l+1).trim())}if(!e.has("current"))throw(0,a.FT)({host:this.host,phase:t,kind:"host-state"},"the host's answer could not be read (is its login shell POSIX?)");const n=s=>({kernel:e.get(`${s}-kernel`)||null,initrd:e.get(`${s}-initrd`)||null,modules:e.get(`${s}-kernel-modules`)||null});return{current:e.get("current")||null,booted:e.get("booted")||null,currentBoot:n("current"),bootedBoot:n("booted")}}async reboot(){await this.script(L,[],"reboot","rebooting the host")}async waitForBoot(t,i){const e=Date.now()+i*1e3;for(;Date.now()<e;){await new Promise(n=>setTimeout(n,1e3));try{const n=await this.probe("","reboot");if(n.bootId&&n.bootId!==t)return n}catch{}}return null}}}),6228:((U,k,c)=>{c.d(k,{L:()=>g,a:()=>a});function a(o){if(o<1e3)return`${o} ms`;const d=o/1e3;if(d<60)return`${d.toFixed(1)} s`;const $=Math.floor(d/60);return`${$} min ${Math.round(d-$*60)} s`}function g(o,d,$=`${d}s`){return`${o} ${o===1?d:$}`}})};export{F as id,H as ids,B as modules};
