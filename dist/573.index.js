const N=573,H=[573],F={3104:((L,k,l)=>{l.d(k,{t:()=>a});var c=l(9114),g=l(1661),s=l(7521);function o($){return s.xf.find(y=>y.name===$)?.default??""}function a($,y={}){return{privateKey:$("ssh-private-key"),knownHosts:$("ssh-known-hosts"),acceptNewHostKeys:(0,c.q6)("ssh-accept-new-host-keys",$("ssh-accept-new-host-keys"),o("ssh-accept-new-host-keys")==="true"),extraOptions:(0,g.K_)($("ssh-options")),sudo:(0,c.nL)("sudo",$("sudo"),["auto","true","false"],o("sudo")),connectTimeout:(0,c.EJ)("ssh-connect-timeout",$("ssh-connect-timeout"),Number(o("ssh-connect-timeout")),{max:600}),allowUserKnownHosts:y.terminal===!0}}}),9145:((L,k,l)=>{l.d(k,{$W:()=>P,jJ:()=>U,o9:()=>C});var c=l(9114);const g=[[/^would stop the following units(?: as well)?:/,"stop"],[/^would NOT stop the following changed units(?: as well)?:/,"notStopped"],[/^would NOT restart the following changed units(?: as well)?:/,"notStopped"],[/^would reload the following units:/,"reload"],[/^would restart the following units:/,"restart"],[/^would start the following units:/,"start"],[/^stopping the following units(?: as well)?:/,"stop"],[/^NOT restarting the following changed units(?: as well)?:/,"skipped"],[/^reloading the following units:/,"reload"],[/^restarting the following units:/,"restart"],[/^starting the following units:/,"start"],[/^the following new units were started:/,"newlyStarted"],[/^warning: the following units failed:/,"failed"],[/^warning: the following user units failed:/,"failedUserUnits"]],s=/^warning: user activation for ([A-Za-z0-9._@-]{1,64}\$?) failed$/,o=[/^would activate the configuration\.\.\.$/,/^activating the configuration\.\.\.$/],a=[/^would restart systemd$/,/^restarting systemd\.\.\.$/],$="service|socket|target|timer|mount|path|slice|scope|swap|automount|device",y=new RegExp(`^[A-Za-z0-9:_.@\\\\-]+\\.(?:${$})$`);function C(h){return h.length<=256&&y.test(h)}function U(h){const r={stop:new Set,restart:new Set,reload:new Set,start:new Set,notStopped:new Set,skipped:new Set,newlyStarted:new Set,failed:new Set,failedUserUnits:new Set},E=new Set;let I=!1;const A=[],v=(0,c.aJ)(String(h??"")).split(/\r?\n|\r/);for(let p=0;p<v.length;p++){const w=v[p].trim();if(w===""||o.some(e=>e.test(w)))continue;if(a.some(e=>e.test(w))){I=!0;continue}const M=s.exec(w);if(M){E.add(M[1]);continue}const x=g.find(([e])=>e.test(w));if(!x){A.push(w);continue}const[W,D]=x;let _=w.replace(W,"");for(;_.trim().endsWith(",")&&p+1<v.length&&v[p+1].trim()!=="";)p++,_+=" "+v[p].trim();let i=!1;for(const e of _.split(",")){const t=e.trim();t!==""&&(C(t)?r[D].add(t):i=!0)}i&&A.push(w)}const f=p=>[...p].sort();return{stop:f(r.stop),restart:f(r.restart),reload:f(r.reload),start:f(r.start),notStopped:f(r.notStopped),skipped:f(r.skipped),newlyStarted:f(r.newlyStarted),failed:f(r.failed),failedUserUnits:f(r.failedUserUnits),failedUsers:f(E),restartSystemd:I,lines:A}}function P(h){const r=[];return h.failed.length&&r.push(`units failed: ${h.failed.join(", ")}`),h.failedUserUnits.length&&r.push(`user units failed: ${h.failedUserUnits.join(", ")}`),h.failedUsers.length&&r.push(`user activation failed for ${h.failedUsers.join(", ")}`),r.length?r.join("; "):"units failed: see the log"}}),6045:((L,k,l)=>{l.d(k,{G:()=>D});var c=l(4296),g=l(9978),s=l(1661);const o="/run/nix-deploy",a="/nix/var/nix/profiles/system",$=`
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
  gen=$(readlink ${a} 2>/dev/null || true)
  prof=$(readlink -f ${a} 2>/dev/null || true)
  boot=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || true)
  sd=no; if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then sd=yes; fi
  fl=no; if command -v flock >/dev/null 2>&1; then fl=yes; fi
  want=no; if [ -n "$want_path" ] && [ -e "$want_path" ]; then want=yes; fi
  act=no; if [ -n "$cur" ] && [ -x "$cur/bin/switch-to-configuration" ]; then act=yes; fi
  printf 'current=%s\\ngeneration=%s\\nprofile=%s\\nboot=%s\\nsystemd=%s\\nflock=%s\\nhas-wanted=%s\\nactivatable=%s\\n' "$cur" "$gen" "$prof" "$boot" "$sd" "$fl" "$want" "$act"
}
`,C=y+`
probe_state "$1"
`,U=y+`
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
`,P=$+`
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
`,h=`
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
`,r=$+`
d=$1; id=$2; top=$3; act=$4
mkdir -p "$d" && chmod 700 "$d" || exit 70
rm -f "$d/switch-$id.exit" "$d/switch-$id.end"
: > "$d/switch-$id.log"
if [ "$5" = set ]; then
  nix-env -p ${a} --set "$top" || { echo "nix-deploy: could not set the system profile" >&2; exit 90; }
elif [ "$5" = restore ] || [ "$5" = restore-delete ]; then
  restore_profile "$top" "$7" "\${5#restore-}" || { echo "nix-deploy: could not restore the system profile" >&2; exit 90; }
fi
echo "nix-deploy-profile $(readlink ${a} 2>/dev/null)"
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
`+E();function E(){return`
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
`+E(),A=`
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
`,M=`
setsid /bin/sh -c 'sleep 1; if [ -d /run/systemd/system ]; then systemctl reboot; else reboot; fi' </dev/null >/dev/null 2>&1 &
echo rebooting
`,x=6e4;function W(_){const i=/system-(\d+)-link$/.exec(_.trim());return i?Number(i[1]):null}class D{session;remote;logger;constructor(i,e,t){this.session=i,this.remote=e,this.logger=t}get host(){return this.remote.host}script(i,e,t,n,d=x,u=!0){return(0,s.mW)(this.session,this.remote,i,e,{timeoutMs:d,phase:t,what:n,logger:this.logger,check:u})}async connect(i,e){const t=(this.session.settings.connectTimeout+30)*1e3,n=await this.session.connect(this.remote,{timeoutMs:t,logger:this.logger});if(n)throw(0,s.vU)(this.remote,n,{phase:i,what:e,timeoutMs:t})}async probe(i,e="probe"){const t=await this.script(C,[i],e,"reading the current system");return this.parseProbe(t.stdout.split(`
`),e)}parseProbe(i,e){const t=new Map;for(const n of i){const d=n.indexOf("=");d>0&&t.set(n.slice(0,d),n.slice(d+1).trim())}if(!t.has("current"))throw(0,c.FT)({host:this.host,phase:e,kind:"host-state"},"the host's answer could not be read (is its login shell POSIX?)");return{current:t.get("current")||null,generation:W(t.get("generation")??""),generationLink:/^system-\d+-link$/.test(t.get("generation")??"")?t.get("generation"):null,profile:t.get("profile")||null,bootId:t.get("boot")??"",systemd:t.get("systemd")==="yes",flock:t.get("flock")==="yes",hasWanted:t.get("has-wanted")==="yes",activatable:t.get("activatable")==="yes"}}async lock(i,e,t=""){const d=[...this.session.needsSudo(this.remote)?["sudo","-n","--"]:[],"sh","-c",U,"nix-deploy",o,i,String(e),t],u=(0,g.kp)(this.session.sshArgv(this.remote,d.map(g.ZL).join(" ")),{timeoutMs:(e+60)*1e3,logger:this.logger}),b=await u.waitForLine(S=>S.startsWith("nix-deploy-lock-"),6e4);if(b==="nix-deploy-lock-acquired")return{state:this.parseProbe(u.lines,"lock"),release:async()=>{u.closeInput(),await Promise.race([u.done,new Promise(R=>setTimeout(R,5e3,null))])===null&&u.kill()}};u.kill();const T=await u.done,m={host:this.host,phase:"lock"};if(b?.startsWith("nix-deploy-lock-busy")){const S=b.slice(20).trim();throw(0,c.FT)({...m,kind:"busy"},`another deploy is running on this host${S?` (${S})`:""}; try again when it has finished`)}if(T.exitCode===s.M2)throw(0,c.FT)({...m,kind:"connection"},`could not connect: ${(0,s.eG)(T.stderr)}`);const O=T.stderr.trim().split(`
`).pop()??"";throw(0,c.FT)({...m,kind:"command",detail:T.stderr},`could not take the deploy lock${T.exitCode===127?" (flock is missing on the host)":O?`: ${O}`:""}`)}async armWatchdog(i,e,t,n,d,u){const b=[o,i,String(e),t??"",d,String(u),P,n??""];await this.script(h,b,"arm","arming the rollback watchdog")}async activate(i,e,t,n,d,u,b=""){const T=[o,i,e,t,n,String(d),b],m=await(0,s.mW)(this.session,this.remote,r,T,{timeoutMs:(d+30)*1e3,phase:"activate",what:"activating",logger:this.logger,check:!1,onStderrLine:u}),O=m.stdout.split(`
`).find(j=>j.startsWith("nix-deploy-profile ")),S=m.stdout.includes("nix-deploy-activation-started"),R=m.exitCode===s.M2||m.timedOut||S&&m.exitCode===null;return{exitCode:R?null:m.exitCode,output:m.stderr,connectionLost:R,profileLink:O?O.slice(19).trim():null}}async waitActivation(i,e){const t=await(0,s.mW)(this.session,this.remote,I,[o,i,"","","",String(e)],{timeoutMs:(e+30)*1e3,phase:"activate",what:"waiting for the activation",logger:this.logger,check:!1}),n=t.exitCode===s.M2||t.timedOut;return{exitCode:n?null:t.exitCode,output:t.stderr,connectionLost:n}}heartbeatChannel(i,e,t){const d=[...this.session.needsSudo(this.remote)?["sudo","-n","--"]:[],"sh","-c",A,"nix-deploy",o,i,String(e)];return(0,g.kp)(this.session.sshArgv(this.remote,d.map(g.ZL).join(" ")),{timeoutMs:t*1e3,logger:this.logger})}freshLogin(i){return(0,s.mW)(this.session,this.remote,"true",[],{timeoutMs:x,phase:i,what:"a new SSH connection to the host",privileged:!1,check:!1,fresh:!0,logger:this.logger})}async confirm(i){const e=await this.script(v,[o,i],"confirm","confirming the deployment",x,!1);if(e.exitCode===0)return"confirmed";if(e.exitCode===92)return"fired";throw(0,c.FT)({host:this.host,phase:"confirm",kind:e.exitCode===s.M2?"connection":"command"},e.exitCode===s.M2?`confirming failed: ${(0,s.eG)(e.stderr)}`:`confirming failed with exit code ${e.exitCode}`)}async disarm(i){const t=(await this.script(f,[o,i],"rollback","disarming the watchdog",10*x)).stdout.trim().split(`
`).pop()??"";return t.startsWith("fired")?{fired:!0,exit:t.slice(6).trim()}:{fired:!1,exit:""}}async watchdogState(i){const t=(await this.script(p,[o,i],"rollback","reading the watchdog",x)).stdout.split(`
`),n=(t.find(d=>d.startsWith("fired="))??"fired=no").slice(6);return{fired:n!=="no",exit:n==="no"?"":n,log:t.filter(d=>d.startsWith("log=")).map(d=>d.slice(4))}}async generations(i="resolve"){return(await this.script(w,[],i,"listing the system generations")).stdout.split(`
`).map(t=>/^(\d+) (\/\S+)$/.exec(t.trim())).filter(t=>t!==null).map(t=>({generation:Number(t[1]),storePath:t[2]})).sort((t,n)=>t.generation-n.generation)}async reboot(){await this.script(M,[],"reboot","rebooting the host")}async waitForBoot(i,e){const t=Date.now()+e*1e3;for(;Date.now()<t;){await new Promise(n=>setTimeout(n,1e3));try{const n=await this.probe("","reboot");if(n.bootId&&n.bootId!==i)return n}catch{}}return null}}}),6228:((L,k,l)=>{l.d(k,{L:()=>g,a:()=>c});function c(s){if(s<1e3)return`${s} ms`;const o=s/1e3;if(o<60)return`${o.toFixed(1)} s`;const a=Math.floor(o/60);return`${a} min ${Math.round(o-a*60)} s`}function g(s,o,a=`${o}s`){return`${s} ${s===1?o:a}`}})};export{N as id,H as ids,F as modules};
